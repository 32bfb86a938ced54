package kernels

import (
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// nearestBF16 rounds f to bfloat16 the slow way: of the two bfloat16 values around f, the
// nearer, ties to the even one; subnormal results flush to zero. NaN is not handled.
func nearestBF16(f float32) uint16 {
	b := math.Float32bits(f)
	lo := uint16(b >> 16) // truncation: toward zero
	hi := lo + 1          // away from zero (may step into Inf, which is right)
	dl := math.Abs(float64(f) - float64(BF16ToF32(lo)))
	up := float64(BF16ToF32(hi))
	if math.IsInf(up, 0) {
		up = math.Copysign(0x1p128, up) // the overflow threshold rounds as if 2^128 existed
	}
	dh := math.Abs(up - float64(f))
	u := lo
	if dh < dl || (dh == dl && lo&1 == 1) {
		u = hi
	}
	if u&0x7f80 == 0 {
		u &= 0x8000
	}
	return u
}

func TestRoundBF16(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	n := 1 << 20
	if testing.Short() {
		n = 1<<16 + 1<<14 // every tie, fewer random patterns
	}
	for i := range n {
		b := r.Uint32()
		if i < 1<<16 {
			b = uint32(i)<<16 | 0x8000 // every tie
		}
		f := math.Float32frombits(b)
		if f != f || math.IsInf(float64(f), 0) {
			continue
		}
		if got, want := roundBF16(f), nearestBF16(f); got != want {
			t.Fatalf("roundBF16(%#08x) = %#04x, want %#04x", b, got, want)
		}
	}
	if got := roundBF16(math.Float32frombits(0x80400000)); got != 0x8000 {
		t.Errorf("roundBF16(-subnormal) = %#04x, want -0", got)
	}
}

// TestRoundBF16s checks each variant's vector rounding bit for bit against roundBF16 on
// every tie, NaNs with payloads, infinities, subnormals, values that round up to infinity,
// and random bit patterns, at lengths that leave a tail for the scalar loop.
func TestRoundBF16s(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	var src []float32
	for i := range 1 << 16 {
		src = append(src, math.Float32frombits(uint32(i)<<16|0x8000), math.Float32frombits(uint32(i)<<16|0x7fff))
	}
	for _, b := range []uint32{0x7f800000, 0xff800000, 0x7f800001, 0xffbfffff, 0x7fc00000, 0x7f7fffff, 0xff7f8000,
		0x00000001, 0x807fffff, 0x00400000, 0x007fffff, 0x00800000, 0x80000000, 0} {
		src = append(src, math.Float32frombits(b))
	}
	for range 1 << 16 {
		src = append(src, math.Float32frombits(r.Uint32()))
	}
	for _, v := range Variants() {
		if !v.Supported {
			continue
		}
		restore := Use(v)
		for _, n := range []int{len(src), len(src) - 7, 15, 16, 17} {
			dst := make([]float32, n)
			roundBF16s(dst, src[:n])
			for i, got := range dst {
				if want := BF16ToF32(roundBF16(src[i])); math.Float32bits(got) != math.Float32bits(want) {
					t.Fatalf("%s: roundBF16s(%#08x) = %#08x, want %#08x", v.Name, math.Float32bits(src[i]), math.Float32bits(got), math.Float32bits(want))
				}
			}
		}
		restore()
	}
}

// exactFMA is acc + x·y for bfloat16 x and y computed with big.Float and rounded once to
// float32 (24 bits, nearest even). Valid while the result is not subnormal.
func exactFMA(acc float32, x, y uint16) float32 {
	s := new(big.Float).SetPrec(200).Mul(new(big.Float).SetFloat64(float64(BF16ToF32(x))), new(big.Float).SetFloat64(float64(BF16ToF32(y))))
	s.Add(s, new(big.Float).SetFloat64(float64(acc)))
	f, _ := s.Float32()
	return f
}

// exactLane computes one VDPBF16PS lane with exactFMA, odd (high) elements first.
func exactLane(acc float32, xs, ys []uint32) float32 {
	for p := range xs {
		acc = exactFMA(acc, uint16(xs[p]>>16), uint16(ys[p]>>16))
		acc = exactFMA(acc, uint16(xs[p]), uint16(ys[p]))
	}
	return acc
}

func TestDotPairBF16(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	word := func() uint32 {
		e := func() float32 { return float32(r.NormFloat64() * math.Exp2(float64(r.IntN(40)-20))) }
		return uint32(roundBF16(e())) | uint32(roundBF16(e()))<<16
	}
	lanes := 20000
	if testing.Short() {
		lanes = 2000
	}
	for range lanes {
		n := 1 + r.IntN(8)
		xs, ys := make([]uint32, n), make([]uint32, n)
		for i := range xs {
			xs[i], ys[i] = word(), word()
		}
		var acc float32
		for p := range xs {
			acc = dotPairBF16(acc, xs[p], ys[p])
		}
		if want := exactLane(0, xs, ys); acc != want && math.Abs(float64(want)) > 0x1p-100 {
			t.Fatalf("lane over %x · %x = %v, want %v", xs, ys, acc, want)
		}
	}
	// The order is the SDM's: odd products first. 1 - 2^-24 + 2^-25 ties to 1, while
	// 1 + 2^-25 - 2^-24 would give 1 - 2^-24.
	one := uint32(F32ToBF16(1))
	acc := dotPairBF16(1, uint32(F32ToBF16(-0x1p-24))<<16|uint32(F32ToBF16(0x1p-25)), one<<16|one)
	if acc != 1 {
		t.Errorf("odd-first pair = %v, want 1", acc)
	}
	// Subnormal results flush to zero; so do subnormal inputs.
	tiny := uint32(F32ToBF16(0x1p-70))
	if got := dotPairBF16(0, tiny, tiny); got != 0 {
		t.Errorf("2^-140 = %v, want flushed to 0", got)
	}
	if got := dotPairBF16(1, 0x0001, 0x3f80); got != 1 {
		t.Errorf("1 + subnormal·1 = %v, want 1", got)
	}
}

func TestPackBF16Layout(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	for _, dt := range []DType{F32, BF16, F16} {
		for _, transB := range []bool{false, true} {
			for _, s := range [][2]int{{1, 1}, {33, 7}, {64, 64}, {5, 70}} {
				n, k := s[0], s[1]
				var b Mat
				if transB {
					b = randMat(r, dt, n, k, k+3, 1)
				} else {
					b = randMat(r, dt, k, n, n+2, 2)
				}
				p := PackBF16(b, transB)
				if p.n != n || p.k != k || p.pairs != roundUp((k+1)/2, amxPairs) || len(p.words) != (n+31)/32*p.pairs*32 {
					t.Fatalf("%v/T=%v/%dx%d: packed %d x %d in %d words", dt, transB, n, k, p.n, p.k, len(p.words))
				}
				elem := roundedOp(b, transB, k, n)
				for q := range (n + 31) / 32 {
					for pp := range p.pairs { // zero in the padding to whole AMX tiles
						for j := range 32 {
							got := p.words[(q*p.pairs+pp)*32+j]
							want := uint32(elem(2*pp, q*32+j)) | uint32(elem(2*pp+1, q*32+j))<<16
							if got != want {
								t.Fatalf("%v/T=%v/%dx%d: panel %d pair %d col %d = %#x, want %#x", dt, transB, n, k, q, pp, j, got, want)
							}
						}
					}
				}
			}
		}
	}
}

// roundedOp returns a function giving op(b)[kk, j] rounded by nearestBF16, zero past k or n.
func roundedOp(b Mat, transB bool, k, n int) func(kk, j int) uint16 {
	row := make([]float32, b.Cols)
	return func(kk, j int) uint16 {
		if kk >= k || j >= n {
			return 0
		}
		if transB {
			b.Row(row, j)
			return nearestBF16(row[kk])
		}
		b.Row(row, kk)
		return nearestBF16(row[j])
	}
}

// twin runs the bf16 GEMM on gemmKernelBF16Generic, the Go twin of VDPBF16PS.
var twin = &Variant{Name: "twin", Supported: true, kernel: gemmKernelGeneric, bf16: gemmKernelBF16Generic}

// TestGemmBF16Variants runs the bf16 GEMM of the twin and of every variant: each within the
// float32 summation bound of the float64 product of the rounded operands, and bit for bit
// equal to the twin (the AMX variant, which adds in its own order, within the bound only).
func TestGemmBF16Variants(t *testing.T) {
	for _, v := range Variants() {
		if !v.Supported {
			t.Logf("variant %s not supported here", v.Name)
		}
	}
	shapes := [][3]int{{1, 1, 1}, {2, 33, 64}, {3, 40, 101}, {12, 32, 2}, {13, 33, 7}, {200, 3, 5}, {0, 5, 5}, {5, 0, 5}, {5, 5, 0}}
	if !testing.Short() { // two kc blocks, several row blocks, more than nc columns
		shapes = append(shapes, [3]int{11, 31, 257}, [3]int{25, 65, 300}, [3]int{150, 70, 513}, [3]int{7, 1030, 40})
	}
	r := rand.New(rand.NewPCG(17, 18))
	for _, s := range shapes {
		for _, dt := range []DType{F32, BF16} {
			for _, transB := range []bool{false, true} {
				for _, acc := range []bool{false, true} {
					g := newGemmCase(r, s[0], s[1], s[2], dt, transB, acc)
					g.b = g.b.WithBF16(transB)
					// The float64 product of the rounded operands and the bound of a float32
					// sum of k+1 terms: (k+1)·2^-24·Σ|terms|, plus one rounding of the result.
					want, bound := bf16Reference(g.m, g.n, g.k, g.a[g.aoff:], g.lda, g.b, transB, g.c[g.coff:], g.ldc, acc)
					var twinC []float32
					for _, v := range append([]*Variant{twin}, Variants()...) {
						if !v.Supported {
							continue
						}
						restore := Use(v)
						c := g.run()
						restore()
						g.check(t, g.String()+"/"+v.Name, c, func(i, j int, x float32) string {
							if w, b := want[i*g.n+j], bound[i*g.n+j]; math.Abs(float64(x)-w) > b {
								return fmt.Sprintf("want %v ± %g", w, b)
							}
							if twinC != nil && !v.rowMajorA && x != twinC[g.coff+i*g.ldc+j] { // AMX adds in its own order (TestGemmBF16AMX)
								return fmt.Sprintf("the Go twin gives %v", twinC[g.coff+i*g.ldc+j])
							}
							return ""
						})
						if v == twin {
							twinC = c
						}
					}
				}
			}
		}
	}
}

func bf16Reference(m, n, k int, a []float32, lda int, b Mat, transB bool, c0 []float32, ldc int, accumulate bool) (want, bound []float64) {
	want, bound = make([]float64, m*n), make([]float64, m*n)
	row := make([]float32, b.Cols)
	bw := make([][]float64, b.Rows)
	for r := range b.Rows {
		b.Row(row, r)
		bw[r] = make([]float64, b.Cols)
		for c, v := range row {
			bw[r][c] = float64(BF16ToF32(nearestBF16(v)))
		}
	}
	const u = 0x1p-24
	for i := range m {
		for j := range n {
			var s, abs float64
			for p := range k {
				var bv float64
				if transB {
					bv = bw[j][p]
				} else {
					bv = bw[p][j]
				}
				t := float64(BF16ToF32(nearestBF16(a[i*lda+p]))) * bv
				s += t
				abs += math.Abs(t)
			}
			if accumulate {
				s += float64(c0[i*ldc+j])
				abs += math.Abs(float64(c0[i*ldc+j]))
			}
			want[i*n+j] = s
			bound[i*n+j] = float64(k+2)*u*abs + u*math.Abs(s)
		}
	}
	return want, bound
}

func TestRowRangeBF16(t *testing.T) {
	r := rand.New(rand.NewPCG(19, 20))
	n, k, m := 100, 40, 5
	w := randMat(r, BF16, n, k, k, 0).WithBF16(true)
	a := randSlice(r, m*k, 1)
	whole := make([]float32, m*n)
	Gemm(m, n, k, a, k, w, true, whole, n, false)
	part := make([]float32, m*(n-64))
	Gemm(m, n-64, k, a, k, w.RowRange(64, n), true, part, n-64, false)
	for i := range m {
		for j := range n - 64 {
			if part[i*(n-64)+j] != whole[i*n+64+j] {
				t.Fatalf("rows 64.. C[%d,%d] = %v, whole GEMM %v", i, j, part[i*(n-64)+j], whole[i*n+64+j])
			}
		}
	}
}

// TestFastest checks the timed choice on scripted timings: the smallest single timing wins
// (a candidate slowed in one round by a neighbour is not penalized), and the rounds
// interleave the candidates.
func TestFastest(t *testing.T) {
	a, b, c := &Variant{Name: "a"}, &Variant{Name: "b"}, &Variant{Name: "c"}
	times := map[*Variant][]time.Duration{
		a: {9, 9, 9, 9, 9},
		b: {50, 3, 50, 50, 50}, // one quiet round
		c: {4, 4, 4, 4, 4},
	}
	var order []string
	got := fastest([]*Variant{a, b, c}, func(v *Variant) time.Duration {
		order = append(order, v.Name)
		d := times[v][0]
		times[v] = times[v][1:]
		return d
	})
	if got != b {
		t.Errorf("fastest chose %s, want b (3 < 4 < 9)", got.Name)
	}
	if want := strings.Repeat("abc", 5); strings.Join(order, "") != want {
		t.Errorf("measured in the order %v, want five rounds of a, b, c", order)
	}
	t.Logf("the bf16 GEMM's kernel here: %s", bf16Fastest().Name)
}
