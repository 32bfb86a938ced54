package pyrand

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"math/big"
	"os"
	"slices"
	"strconv"
	"testing"
)

// vectors.json is written by testdata/gen_vectors.py from CPython 3.11's random module.
type vectorFile struct {
	Python string `json:"python"`
	Cases  []struct {
		Seed string `json:"seed"`
		Ops  []struct {
			Op  string          `json:"op"`
			K   int             `json:"k"`
			N   json.RawMessage `json:"n"`
			A   string          `json:"a"`
			B   string          `json:"b"`
			Out json.RawMessage `json:"out"`
		} `json:"ops"`
	} `json:"cases"`
}

func mustBig(t *testing.T, s string) *big.Int {
	t.Helper()
	v, ok := new(big.Int).SetString(s, 10)
	if !ok {
		t.Fatalf("bad integer %q", s)
	}
	return v
}

func unquote(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}

func TestCPythonVectors(t *testing.T) {
	data, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var vf vectorFile
	if err := json.Unmarshal(data, &vf); err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, c := range vf.Cases {
		t.Run("seed="+c.Seed, func(t *testing.T) {
			r := New(mustBig(t, c.Seed))
			for i, op := range c.Ops {
				want := unquote(op.Out)
				var got string
				switch op.Op {
				case "getrandbits":
					got = r.GetRandBits(op.K).String()
				case "randbelow":
					got = r.RandBelowBig(mustBig(t, unquote(op.N))).String()
				case "randint":
					a, b := mustBig(t, op.A), mustBig(t, op.B)
					if a.IsInt64() && b.IsInt64() {
						v, err := r.RandInt(a.Int64(), b.Int64())
						if err != nil {
							t.Fatalf("op %d: RandInt(%v, %v): %v", i, a, b, err)
						}
						got = strconv.FormatInt(v, 10)
					} else {
						got = r.RandIntBig(a, b).String()
					}
				case "choice":
					n, _ := strconv.Atoi(unquote(op.N))
					v, err := r.Choice(n)
					if err != nil {
						t.Fatalf("op %d: Choice(%d): %v", i, n, err)
					}
					got = strconv.Itoa(v)
				case "shuffle":
					n, _ := strconv.Atoi(unquote(op.N))
					x := make([]int, n)
					for j := range x {
						x[j] = j
					}
					r.Shuffle(n, func(i, j int) { x[i], x[j] = x[j], x[i] })
					b, _ := json.Marshal(x)
					got = string(b)
					want = string(op.Out)
				case "random":
					wf, err := strconv.ParseFloat(want, 64)
					if err != nil {
						t.Fatal(err)
					}
					f := r.Random()
					if f != wf {
						t.Fatalf("op %d: Random() = %v, want %v", i, f, wf)
					}
					got = want
				default:
					t.Fatalf("unknown op %q", op.Op)
				}
				if got != want {
					t.Fatalf("op %d: %s(k=%d n=%s a=%s b=%s) = %s, want %s", i, op.Op, op.K, op.N, op.A, op.B, got, want)
				}
				total++
			}
		})
	}
	if total < 10000 {
		t.Errorf("replayed %d draws, want at least 10000", total)
	}
}

// RNG parity values of SN9's page draws, computed by CPython 3.11 (testdata/gen_vectors.py
// asserts them).
func TestSpecVectors(t *testing.T) {
	r := NewInt64(1)
	var got []int64
	for range 3 {
		v, _ := r.RandInt(1, 968000015)
		got = append(got, v)
	}
	if want := []int64{144272510, 611178003, 909925048}; !slices.Equal(got, want) {
		t.Errorf("seed(1) randint(1,968000015)x3 = %v, want %v", got, want)
	}
	r = NewInt64(1)
	got = got[:0]
	for range 2 {
		v, _ := r.RandInt(1, 5451114734)
		got = append(got, v)
	}
	if want := []int64{4872057334, 3280387013}; !slices.Equal(got, want) {
		t.Errorf("seed(1) randint(1,5451114734)x2 = %v, want %v", got, want)
	}

	sum := sha256.Sum256([]byte("0xa97f42f48fddd14f4c7443b46f9961a227c9a699e60f74dd08346713ba5dcd4c"))
	seed, _ := new(big.Int).SetString(hex.EncodeToString(sum[:]), 16)
	if want := "8ab716a6e220141ac8fee75afd4e254c9e3a8c8befffb4e8920926dd0ece74d4"; seed.Text(16) != want {
		t.Fatalf("seed = %x, want %s", seed, want)
	}
	r = New(seed)
	got = got[:0]
	for range 3 {
		v, _ := r.RandInt(1, 968000015)
		got = append(got, v)
	}
	if want := []int64{924215259, 593202412, 449899526}; !slices.Equal(got, want) {
		t.Errorf("falcon pages = %v, want %v", got, want)
	}
	if v, _ := New(seed).RandInt(0, 49); v != 35 {
		t.Errorf("randint(0,49) = %d, want 35", v)
	}
	x := []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	New(seed).Shuffle(len(x), func(i, j int) { x[i], x[j] = x[j], x[i] })
	if want := []int{1, 0, 3, 5, 4, 7, 2, 9, 6, 8}; !slices.Equal(x, want) {
		t.Errorf("shuffle(range(10)) = %v, want %v", x, want)
	}
}

func TestSeedConstructorsAgree(t *testing.T) {
	for _, s := range []int64{0, 1, -1, 42, math.MaxInt64, math.MinInt64, -(1 << 40)} {
		a, b := NewInt64(s), New(big.NewInt(s))
		for i := range 700 { // past one 624-word regeneration
			if x, y := a.Uint32(), b.Uint32(); x != y {
				t.Fatalf("seed %d word %d: NewInt64 %d, New %d", s, i, x, y)
			}
		}
	}
	// abs(seed): -s and s give the same stream, as in CPython.
	a, b := NewUint64(math.MaxUint64), New(new(big.Int).Neg(new(big.Int).SetUint64(math.MaxUint64)))
	if a.Uint32() != b.Uint32() {
		t.Error("New(-s) and New(s) differ")
	}
	// nil is seed 0.
	if New(nil).Uint32() != NewInt64(0).Uint32() {
		t.Error("New(nil) differs from seed 0")
	}
}

func TestEmptyRanges(t *testing.T) {
	r := NewInt64(0)
	if _, err := r.RandInt(5, 4); !errors.Is(err, ErrEmptyRange) {
		t.Errorf("RandInt(5, 4) error = %v, want ErrEmptyRange", err)
	}
	if v := r.RandIntBig(big.NewInt(5), big.NewInt(4)); v != nil {
		t.Errorf("RandIntBig(5, 4) = %v, want nil", v)
	}
	if _, err := r.Choice(0); !errors.Is(err, ErrEmptyRange) {
		t.Errorf("Choice(0) error = %v, want ErrEmptyRange", err)
	}
	// The full int64 range is width 2^64, which takes the big path (bit length 65).
	var vf struct {
		Extras struct {
			FullInt64Seed0 []string `json:"full_int64_seed0"`
		} `json:"extras"`
	}
	data, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &vf); err != nil {
		t.Fatal(err)
	}
	if len(vf.Extras.FullInt64Seed0) == 0 {
		t.Fatal("vectors.json has no extras.full_int64_seed0")
	}
	r = NewInt64(0)
	for i, want := range vf.Extras.FullInt64Seed0 {
		v, err := r.RandInt(math.MinInt64, math.MaxInt64)
		if err != nil {
			t.Fatal(err)
		}
		if got := strconv.FormatInt(v, 10); got != want {
			t.Errorf("draw %d: RandInt(min, max) = %s, want %s", i, got, want)
		}
	}
}

func TestBits64MatchesGetRandBits(t *testing.T) {
	for k := 0; k <= 64; k++ {
		a, b := NewInt64(int64(k)), NewInt64(int64(k))
		if x, y := a.Bits64(k), b.GetRandBits(k); y.Cmp(new(big.Int).SetUint64(x)) != 0 || y.BitLen() > k {
			t.Errorf("k=%d: Bits64 %d, GetRandBits %v", k, x, y)
		}
	}
}

// FuzzSeedRandBelow checks that any seed and any positive bound yield an in-range value
// without panicking, and that the uint64 and big paths agree.
func FuzzSeedRandBelow(f *testing.F) {
	f.Add([]byte{}, []byte{1})
	f.Add([]byte{0x80, 0, 0, 0, 0, 0, 0, 0, 0}, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte("0xa97f42f48fddd14f4c7443b46f9961a2"), []byte{1, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, seed, bound []byte) {
		if len(seed) > 512 || len(bound) > 64 {
			return
		}
		n := new(big.Int).SetBytes(bound)
		s := new(big.Int).SetBytes(seed)
		if len(seed) > 0 && seed[0]&1 == 1 {
			s.Neg(s)
		}
		if n.Sign() == 0 {
			if _, err := New(s).RandInt(1, 0); !errors.Is(err, ErrEmptyRange) {
				t.Fatalf("RandInt(1, 0) = %v", err)
			}
			return
		}
		v := New(s).RandBelowBig(n)
		if v.Sign() < 0 || v.Cmp(n) >= 0 {
			t.Fatalf("RandBelowBig(%v) = %v out of range", n, v)
		}
		if n.IsUint64() {
			if w := New(s).RandBelow(n.Uint64()); w != v.Uint64() {
				t.Fatalf("RandBelow(%v) = %d, big path %v", n, w, v)
			}
		}
	})
}

func BenchmarkRandInt(b *testing.B) {
	r := NewInt64(1)
	for b.Loop() {
		_, _ = r.RandInt(1, 968000015)
	}
}

func BenchmarkShuffle1000(b *testing.B) {
	r := NewInt64(1)
	x := make([]int, 1000)
	for b.Loop() {
		r.Shuffle(len(x), func(i, j int) { x[i], x[j] = x[j], x[i] })
	}
}

func BenchmarkSeed256(b *testing.B) {
	s, _ := new(big.Int).SetString("8ab716a6e220141ac8fee75afd4e254c9e3a8c8befffb4e8920926dd0ece74d4", 16)
	for b.Loop() {
		New(s)
	}
}
