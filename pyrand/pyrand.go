// Package pyrand reproduces CPython's random module (3.11) bit for bit: the MT19937 generator,
// seeding from an integer, getrandbits, _randbelow, randint, choice, shuffle and random. SN9
// validators agree on which dataset pages to read and which batches to keep only because they
// all draw from this generator with a seed shared on chain (the hash of the sync block), so a
// single differing draw changes consensus.
//
// The package is pure: no I/O, no clocks, no goroutines. A Rand is not safe for concurrent use.
package pyrand

import (
	"errors"
	"math/big"
	"math/bits"
)

const (
	n         = 624
	m         = 397
	matrixA   = 0x9908b0df
	upperMask = 0x80000000
	lowerMask = 0x7fffffff
)

// ErrEmptyRange is returned where CPython raises ValueError("empty range ...") or IndexError
// ("Cannot choose from an empty sequence").
var ErrEmptyRange = errors.New("pyrand: empty range")

// Rand is one CPython random.Random instance.
type Rand struct {
	mt  [n]uint32
	mti int
}

// New returns a generator seeded as CPython's random.Random(seed) / random.seed(seed) for an
// int seed: init_by_array over the 32-bit little-endian words of abs(seed); 0 is one word 0.
func New(seed *big.Int) *Rand {
	r := &Rand{}
	r.Seed(seed)
	return r
}

// NewInt64 is New for a seed that fits in an int64.
func NewInt64(seed int64) *Rand { return New(big.NewInt(seed)) }

// NewUint64 is New for a seed that fits in a uint64.
func NewUint64(seed uint64) *Rand { return New(new(big.Int).SetUint64(seed)) }

// Seed reseeds r as CPython's Random.seed(seed) does for an int (random_seed in
// Modules/_randommodule.c): the key is abs(seed) split into 32-bit words, least significant first.
func (r *Rand) Seed(seed *big.Int) {
	var key []uint32
	if seed != nil {
		abs := new(big.Int).Abs(seed)
		for _, w := range abs.Bits() { // little-endian machine words
			if bits.UintSize == 64 {
				key = append(key, uint32(w), uint32(uint64(w)>>32))
			} else {
				key = append(key, uint32(w))
			}
		}
		// CPython sizes the key by bit length, so drop high zero words from the word split.
		for len(key) > 0 && key[len(key)-1] == 0 {
			key = key[:len(key)-1]
		}
	}
	if len(key) == 0 {
		key = []uint32{0}
	}
	r.initByArray(key)
}

func (r *Rand) initGenrand(s uint32) {
	r.mt[0] = s
	for i := 1; i < n; i++ {
		r.mt[i] = 1812433253*(r.mt[i-1]^(r.mt[i-1]>>30)) + uint32(i)
	}
	r.mti = n
}

func (r *Rand) initByArray(key []uint32) {
	r.initGenrand(19650218)
	i, j := 1, 0
	k := max(n, len(key))
	for ; k > 0; k-- {
		r.mt[i] = (r.mt[i] ^ ((r.mt[i-1] ^ (r.mt[i-1] >> 30)) * 1664525)) + key[j] + uint32(j)
		i++
		j++
		if i >= n {
			r.mt[0] = r.mt[n-1]
			i = 1
		}
		if j >= len(key) {
			j = 0
		}
	}
	for k = n - 1; k > 0; k-- {
		r.mt[i] = (r.mt[i] ^ ((r.mt[i-1] ^ (r.mt[i-1] >> 30)) * 1566083941)) - uint32(i)
		i++
		if i >= n {
			r.mt[0] = r.mt[n-1]
			i = 1
		}
	}
	r.mt[0] = 0x80000000 // MSB is 1, assuring a non-zero initial array
}

// Uint32 returns the next 32-bit output (genrand_uint32).
func (r *Rand) Uint32() uint32 {
	if r.mti >= n {
		var kk int
		for kk = 0; kk < n-m; kk++ {
			y := (r.mt[kk] & upperMask) | (r.mt[kk+1] & lowerMask)
			r.mt[kk] = r.mt[kk+m] ^ (y >> 1) ^ (-(y & 1) & matrixA)
		}
		for ; kk < n-1; kk++ {
			y := (r.mt[kk] & upperMask) | (r.mt[kk+1] & lowerMask)
			r.mt[kk] = r.mt[kk+(m-n)] ^ (y >> 1) ^ (-(y & 1) & matrixA)
		}
		y := (r.mt[n-1] & upperMask) | (r.mt[0] & lowerMask)
		r.mt[n-1] = r.mt[m-1] ^ (y >> 1) ^ (-(y & 1) & matrixA)
		r.mti = 0
	}
	y := r.mt[r.mti]
	r.mti++
	y ^= y >> 11
	y ^= (y << 7) & 0x9d2c5680
	y ^= (y << 15) & 0xefc60000
	y ^= y >> 18
	return y
}

// Random returns a float in [0, 1) with 53 random bits, as random.random() (genrand_res53).
func (r *Rand) Random() float64 {
	a := r.Uint32() >> 5
	b := r.Uint32() >> 6
	return (float64(a)*67108864.0 + float64(b)) * (1.0 / 9007199254740992.0)
}

// Bits64 returns getrandbits(k) for 0 <= k <= 64 without allocating. It panics on other k
// (programmer error; use GetRandBits).
func (r *Rand) Bits64(k int) uint64 {
	switch {
	case k < 0 || k > 64:
		panic("pyrand: Bits64 k out of range")
	case k == 0:
		return 0
	case k <= 32:
		return uint64(r.Uint32() >> (32 - k))
	}
	// Words are produced least significant first; only the last (most significant) is shifted.
	lo := uint64(r.Uint32())
	hi := uint64(r.Uint32() >> (64 - k))
	return hi<<32 | lo
}

// GetRandBits returns random.getrandbits(k), a non-negative integer with k random bits. It
// panics if k < 0 (CPython raises ValueError; callers pass bit lengths).
func (r *Rand) GetRandBits(k int) *big.Int {
	if k < 0 {
		panic("pyrand: GetRandBits k < 0")
	}
	if k <= 64 {
		return new(big.Int).SetUint64(r.Bits64(k))
	}
	words := (k-1)/32 + 1
	buf := make([]byte, words*4) // big-endian bytes for SetBytes, filled from the low end
	for i := 0; i < words; i++ {
		w := r.Uint32()
		if k < 32 {
			w >>= 32 - k
		}
		k -= 32
		off := len(buf) - 4*(i+1)
		buf[off], buf[off+1], buf[off+2], buf[off+3] = byte(w>>24), byte(w>>16), byte(w>>8), byte(w)
	}
	return new(big.Int).SetBytes(buf)
}

// RandBelow returns Random._randbelow(n) for n > 0: k = bit_length(n) bits, redrawn while
// the result is >= n. It panics if n == 0, where CPython would loop forever.
func (r *Rand) RandBelow(n uint64) uint64 {
	if n == 0 {
		panic("pyrand: RandBelow(0)")
	}
	k := bits.Len64(n)
	v := r.Bits64(k)
	for v >= n {
		v = r.Bits64(k)
	}
	return v
}

// RandBelowBig is RandBelow for an arbitrary-size n > 0. It panics if n <= 0.
func (r *Rand) RandBelowBig(n *big.Int) *big.Int {
	if n.Sign() <= 0 {
		panic("pyrand: RandBelowBig(n <= 0)")
	}
	if n.IsUint64() {
		return new(big.Int).SetUint64(r.RandBelow(n.Uint64()))
	}
	k := n.BitLen()
	v := r.GetRandBits(k)
	for v.Cmp(n) >= 0 {
		v = r.GetRandBits(k)
	}
	return v
}

// RandInt returns random.randint(a, b): a + _randbelow(b-a+1). It returns ErrEmptyRange if
// b < a, as CPython raises ValueError.
func (r *Rand) RandInt(a, b int64) (int64, error) {
	if b < a {
		return 0, ErrEmptyRange
	}
	width := uint64(b) - uint64(a) + 1 // exact in two's complement; 0 means 2^64
	if width == 0 {
		v := r.RandIntBig(big.NewInt(a), big.NewInt(b))
		return v.Int64(), nil
	}
	return int64(uint64(a) + r.RandBelow(width)), nil
}

// RandIntBig is RandInt for arbitrary-size bounds. It returns nil if b < a.
func (r *Rand) RandIntBig(a, b *big.Int) *big.Int {
	width := new(big.Int).Sub(b, a)
	width.Add(width, big.NewInt(1))
	if width.Sign() <= 0 {
		return nil
	}
	return width.Add(a, r.RandBelowBig(width))
}

// Choice returns the index random.choice picks from a sequence of length n: _randbelow(n). It
// returns ErrEmptyRange for n <= 0, where CPython raises IndexError.
func (r *Rand) Choice(n int) (int, error) {
	if n <= 0 {
		return 0, ErrEmptyRange
	}
	return int(r.RandBelow(uint64(n))), nil
}

// Shuffle permutes n elements as random.shuffle (3.11): Fisher–Yates from the end, swapping
// element i with j = _randbelow(i+1) for i = n-1 down to 1. swap(i, j) may see i == j.
func (r *Rand) Shuffle(n int, swap func(i, j int)) {
	for i := n - 1; i > 0; i-- {
		j := int(r.RandBelow(uint64(i) + 1))
		swap(i, j)
	}
}
