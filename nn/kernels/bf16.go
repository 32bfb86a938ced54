package kernels

import (
	"math"
	"sync"
	"unsafe"
)

// The bf16 GEMM: C (+)= bf16(A)·op(W) where W was rounded to bfloat16 and packed once
// ([PackBF16]), every product exact in float32 and summed in float32, as VDPBF16PS does.
//
// Numerics, the same on every CPU but where the AMX kernel runs: each activation is rounded to the nearest bfloat16, ties
// to even, and weights likewise when packed; bfloat16 values below 2^-126 (subnormals) read
// as zero, as VDPBF16PS's inputs do. Within one kc block of the inner dimension each output
// starts a float32 sum at zero and adds, pair after pair, first the product of the pair's
// odd elements and then that of the even ones, each addition rounded to nearest even; the
// block's sum is then added to C. VDPBF16PS also flushes a subnormal partial sum to zero:
// the twin below does; the widening kernels (B's words widened in registers, A's rounded
// values read in place, one float32 FMA per product) do not, so they agree with it bit for
// bit unless a partial sum falls below 2^-126. The AMX kernel (amx.go) is the
// exception: it adds the same products in TDPBF16PS's order, within the same float32 bound.
// Which kernel runs is timed once per process ([bf16Fastest]): the sums depend on that only
// where AMX runs and wins.

// PackedBF16 is a weight rounded to bfloat16 and packed for the bf16 GEMM: op(W) (k x n) in
// panels of nr columns; panel q holds, for each pair p of the inner dimension, the nr words
// bf16(op(W)[2p, j]) | bf16(op(W)[2p+1, j])<<16, zero past k and past n. Panels hold a
// multiple of amxPairs pairs, so an AMX tile of B (16 pairs of 16 columns, the VNNI
// layout) is 16 rows of a panel, whole at the end of k too.
type PackedBF16 struct {
	n, k   int
	transB bool // the orientation of the Mat it was packed from
	pairs  int  // (k+1)/2 rounded up to a multiple of amxPairs: words per column of a panel
	words  []uint32
}

// PackBF16 rounds op(b) to bfloat16 and packs it; transB is the orientation the GEMMs will
// use (true for a torch Linear weight).
func PackBF16(b Mat, transB bool) *PackedBF16 {
	p := new(PackedBF16)
	p.pack(b, transB, ParallelFor)
	return p
}

// pack rounds op(b) to bfloat16 and packs it into p, reusing p's words when they are long
// enough, with stored rows split over split ([ParallelFor] or serialFor).
func (p *PackedBF16) pack(b Mat, transB bool, split func(n int, fn func(lo, hi int))) {
	b.check()
	if b.DType == F64 {
		panic("kernels: bf16 packing of an F64 matrix")
	}
	n, k := b.Cols, b.Rows
	if transB {
		n, k = b.Rows, b.Cols
	}
	*p = PackedBF16{n: n, k: k, transB: transB, pairs: roundUp((k+1)/2, amxPairs), words: p.words}
	need := (n + nr - 1) / nr * p.pairs * nr
	if cap(p.words) < need {
		p.words = make([]uint32, need)
	} else {
		p.words = p.words[:need]
		clear(p.words)
	}
	// Workers take groups of stored rows that fill whole words: a panel's 32 columns
	// (rows of a transposed B) or a pair (rows of a plain one), rounded in bulk ([roundBF16s]).
	if k == 0 {
		return
	}
	if transB {
		split((b.Rows+nr-1)/nr, func(lo, hi int) {
			row := make([]float32, b.Cols+1) // one zero past an odd k
			for j := lo * nr; j < min(hi*nr, b.Rows); j++ {
				b.Row(row[:b.Cols], j)
				roundBF16s(row[:b.Cols], row[:b.Cols])
				col := p.words[(j/nr*p.pairs)*nr+j%nr:]
				for q := range (k + 1) / 2 {
					col[q*nr] = bf16Word(row[2*q], row[2*q+1])
				}
			}
		})
		return
	}
	split((b.Rows+1)/2, func(lo, hi int) {
		even, odd := make([]float32, b.Cols), make([]float32, b.Cols)
		for q := lo; q < hi; q++ {
			b.Row(even, 2*q)
			roundBF16s(even, even)
			clear(odd)
			if 2*q+1 < b.Rows {
				b.Row(odd, 2*q+1)
				roundBF16s(odd, odd)
			}
			for j0 := 0; j0 < n; j0 += nr {
				panel := p.words[(j0/nr*p.pairs+q)*nr:][:min(nr, n-j0)]
				for j := range panel {
					panel[j] = bf16Word(even[j0+j], odd[j0+j])
				}
			}
		}
	})
}

// WithBF16 returns m carrying its bf16 packing for GEMMs in orientation transB: [Gemm] then
// runs the bf16 GEMM on it. Other readers ([Mat.Row], [RowOf]) still see the stored values.
func (m Mat) WithBF16(transB bool) Mat {
	m.packed = PackBF16(m, transB)
	return m
}

// WithoutBF16 returns m without its bf16 packing: GEMMs on it run in float32 again.
func (m Mat) WithoutBF16() Mat {
	m.packed = nil
	return m
}

// HasBF16 reports whether m carries a bf16 packing.
func (m Mat) HasBF16() bool { return m.packed != nil }

// cols returns the packing from output column lo on; lo must start a panel.
func (p *PackedBF16) cols(lo int) *PackedBF16 {
	if lo%nr != 0 {
		panic("kernels: bf16 column split inside a panel")
	}
	q := *p
	q.n -= lo
	q.words = p.words[lo/nr*p.pairs*nr:]
	return &q
}

// rows returns the packing from row lo of op(B) on (the inner dimension); lo must start a
// pair. Panels keep their stride, so the view reads the same words.
func (p *PackedBF16) rows(lo int) *PackedBF16 {
	if lo%2 != 0 {
		panic("kernels: bf16 row split inside a pair")
	}
	q := *p
	q.k -= lo
	q.words = p.words[lo/2*nr:]
	return &q
}

// roundBF16 is [F32ToBF16] with subnormals flushed to a signed zero, the values VDPBF16PS
// reads.
func roundBF16(f float32) uint16 {
	u := F32ToBF16(f)
	if u&0x7f80 == 0 {
		return u & 0x8000
	}
	return u
}

// bf16KernelFunc adds the mr x nr product of pair-interleaved panels a (kp x mr words) and
// b (kp x nr words) into c.
type bf16KernelFunc func(kp int, a, b *uint32, c *float32, ldc int)

// bf16WidenedFunc adds the mr x nr product of row-major a (mr rows of 2kp values rounded to
// bfloat16, row stride lda: a [bf16A]) and pair-interleaved words b (kp x nr) into c.
type bf16WidenedFunc func(kp int, a *float32, lda int, b *uint32, c *float32, ldc int)

type bf16Bufs struct {
	aw   []uint32 // packed A words (word kernels)
	tile [mr * nr]float32
}

var bf16BufPool = sync.Pool{New: func() any { return &bf16Bufs{aw: make([]uint32, mc*kc/2)} }}

// bf16A is a bf16 GEMM's A (m x k) rounded to bfloat16 values ([roundBF16], held as
// float32), row-major with an even row stride lda, and zero-padded so that a kernel may read
// whole micro-tiles: to a multiple of mr rows, and in column k when k is odd (the missing
// element of the last pair). The widening kernel reads it in place; the others pack it per
// block. Rounding once per GEMM keeps the rounding out of the loops over column blocks and
// workers.
type bf16A struct {
	k, lda int
	vals   []float32
	buf    *[]float32 // the pooled buffer of vals, nil when vals is the caller's
}

// bf16APool recycles the buffers of prepareBF16A.
var bf16APool = sync.Pool{New: func() any { return new([]float32) }}

// prepareBF16A returns A (m x k, row stride lda) rounded into a [bf16A], rows split over
// split; release returns its buffer.
func prepareBF16A(m, k int, a []float32, lda int, split func(n int, fn func(lo, hi int))) bf16A {
	stride := roundUp(k, 2)
	buf := bf16APool.Get().(*[]float32)
	rows := roundUp(m, mr)
	if cap(*buf) < rows*stride {
		*buf = make([]float32, rows*stride)
	}
	r := (*buf)[:rows*stride]
	clear(r[m*stride:])
	split(m, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			dst := r[i*stride : (i+1)*stride]
			roundBF16s(dst, a[i*lda:i*lda+k])
			if k < stride {
				dst[k] = 0
			}
		}
	})
	return bf16A{k: k, lda: stride, vals: r, buf: buf}
}

// release returns a's buffer to the pool.
func (a bf16A) release() {
	if a.buf != nil {
		bf16APool.Put(a.buf)
	}
}

// from returns the view of a from row r0 on; r0 must start a micro-tile.
func (a bf16A) from(r0 int) bf16A {
	if r0%mr != 0 {
		panic("kernels: bf16 row split inside a micro-tile")
	}
	a.vals = a.vals[r0*a.lda:]
	return a
}

// roundBF16sGeneric is roundBF16s in Go.
func roundBF16sGeneric(dst, src []float32) {
	for i, x := range src {
		dst[i] = BF16ToF32(roundBF16(x))
	}
}

func serialFor(n int, fn func(lo, hi int)) { fn(0, n) }

// gemmBF16Serial is gemmSerial for a bf16-packed B and a prepared A ([bf16A]): a widening
// kernel reads A in place and B's words, a bf16 kernel words (A packed per block here).
func gemmBF16Serial(v *Variant, m, n int, a bf16A, b *PackedBF16, c []float32, ldc int, accumulate bool) {
	k, lda := a.k, a.lda
	if !startC(m, n, k, c, ldc, accumulate) {
		return
	}
	bufs := bf16BufPool.Get().(*bf16Bufs)
	defer bf16BufPool.Put(bufs)
	for jc := 0; jc < n; jc += nc {
		nb := min(nc, n-jc)
		for pc := 0; pc < k; pc += kc { // kc is even: blocks start on a pair
			kb := min(kc, k-pc)
			kp := (kb + 1) / 2
			panel := func(jr int) int { return ((jc+jr)/nr*b.pairs + pc/2) * nr }
			for ic := 0; ic < m; ic += mc {
				mb := min(mc, m-ic)
				dst := c[ic*ldc+jc:]
				switch {
				case v.bf16Widened != nil:
					forTiles(mb, nb, dst, ldc, &bufs.tile, func(ir, jr int, dst *float32, ldd int) {
						v.bf16Widened(kp, &a.vals[(ic+ir)*lda+pc], lda, &b.words[panel(jr)], dst, ldd)
					})
				case v.rowMajorA:
					kpad := roundUp(kp, amxPairs)
					packAWords(bufs.aw, a.vals, lda, ic, mb, pc, kb, kpad, true)
					forTiles(mb, nb, dst, ldc, &bufs.tile, func(ir, jr int, dst *float32, ldd int) {
						v.bf16(kpad, &bufs.aw[ir*kpad], &b.words[panel(jr)], dst, ldd)
					})
				case v.bf16 != nil:
					packAWords(bufs.aw, a.vals, lda, ic, mb, pc, kb, kp, false)
					forTiles(mb, nb, dst, ldc, &bufs.tile, func(ir, jr int, dst *float32, ldd int) {
						v.bf16(kp, &bufs.aw[ir*kp], &b.words[panel(jr)], dst, ldd)
					})
				default:
					panic("kernels: variant without a bf16 kernel")
				}
			}
		}
	}
}

// packAWords packs A[ic:ic+mb, pc:pc+kb], already rounded ([bf16A]), as the word kernels
// read it: panels of mr rows, each pair p of row i the word bf16(A[i, pc+2p]) |
// bf16(A[i, pc+2p+1])<<16, with kpad pairs per row (at least (kb+1)/2) and zeros past kb
// and past mb. Panel q starts at word q·mr·kpad; within it the word of row i, pair p is at
// p·mr+i (VDPBF16PS's panels) or, rowMajor, at i·kpad+p (the AMX kernel's rows).
func packAWords(dst []uint32, a []float32, lda, ic, mb, pc, kb, kpad int, rowMajor bool) {
	rowStride, pairStride := 1, mr
	if rowMajor {
		rowStride, pairStride = kpad, 1
	}
	for q := 0; q*mr < mb; q++ {
		panel := dst[q*mr*kpad : (q+1)*mr*kpad]
		clear(panel)
		for i := range min(mr, mb-q*mr) {
			src := a[(ic+q*mr+i)*lda+pc : (ic+q*mr+i)*lda+pc+kb]
			for p := range kb / 2 {
				panel[i*rowStride+p*pairStride] = bf16Word(src[2*p], src[2*p+1])
			}
			if kb%2 == 1 {
				panel[i*rowStride+kb/2*pairStride] = bf16Word(src[kb-1], 0)
			}
		}
	}
}

// gemmKernelBF16WidenGeneric is the widening micro-kernel in Go: each pair's odd product and
// then its even one added to a float32 sum. A product of two bfloat16 values is exact in
// float32 short of underflow, so a multiply and an add round as one FMA does: the sums are
// the assembly's.
func gemmKernelBF16WidenGeneric(kp int, a *float32, lda int, b *uint32, c *float32, ldc int) {
	pa := unsafeSlice(a, (mr-1)*lda+2*kp)
	pb := unsafe.Slice(b, kp*nr)
	addLanes(c, ldc, func(i, j int) (acc float32) {
		row := pa[i*lda : i*lda+2*kp]
		for p := range kp {
			w := pb[p*nr+j]
			acc += row[2*p+1] * math.Float32frombits(w&^0xffff)
			acc += row[2*p] * math.Float32frombits(w<<16)
		}
		return acc
	})
}

// gemmKernelBF16Generic is the bf16 micro-kernel in Go, the reference for the others: each
// lane computes what one VDPBF16PS lane does, pair after pair.
func gemmKernelBF16Generic(kp int, a, b *uint32, c *float32, ldc int) {
	pa := unsafe.Slice(a, kp*mr)
	pb := unsafe.Slice(b, kp*nr)
	addLanes(c, ldc, func(i, j int) (acc float32) {
		for p := range kp {
			acc = dotPairBF16(acc, pa[p*mr+i], pb[p*nr+j])
		}
		return acc
	})
}

// addLanes adds lane(i, j) to each element of the mr x nr tile at c (row stride ldc).
func addLanes(c *float32, ldc int, lane func(i, j int) float32) {
	pc := unsafeSlice(c, (mr-1)*ldc+nr)
	for i := range mr {
		for j := range nr {
			pc[i*ldc+j] += lane(i, j)
		}
	}
}

// dotPairBF16 is one lane of VDPBF16PS as Intel's SDM defines it: acc += hi(x)·hi(y), then
// acc += lo(x)·lo(y), each a float32 fused multiply-add rounded to nearest even, with
// subnormal inputs read as zero and a subnormal result flushed to zero.
func dotPairBF16(acc float32, x, y uint32) float32 {
	acc = fmaBF16(acc, uint16(x>>16), uint16(y>>16))
	return fmaBF16(acc, uint16(x), uint16(y))
}

// fmaBF16 returns acc + x·y rounded once to float32. The product of two bfloat16 values has
// at most 16 significant bits and is exact in float64; the float64 sum is exact too unless
// the exponents lie over 29 apart, and then the smaller term is below 2^-6 of a float32 ulp
// of the larger, so rounding the float64 sum to float32 gives the correctly rounded sum.
func fmaBF16(acc float32, x, y uint16) float32 {
	s := float32(float64(daz(acc)) + float64(daz(BF16ToF32(x)))*float64(daz(BF16ToF32(y))))
	return daz(s)
}

// daz maps a float32 subnormal to the zero of its sign.
func daz(f float32) float32 {
	if b := math.Float32bits(f); b&0x7f800000 == 0 {
		return math.Float32frombits(b & 0x80000000)
	}
	return f
}
