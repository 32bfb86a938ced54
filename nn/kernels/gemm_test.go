package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

const guard = float32(-12345.5) // sentinel around C: a kernel writing outside its tile changes it

// naive computes op(B) products in float64 from the widened values.
func naive(m, n, k int, a []float32, lda int, b Mat, transB bool, c0 []float32, ldc int, accumulate bool) []float64 {
	out := make([]float64, m*n)
	row := make([]float32, b.Cols)
	bw := make([][]float32, b.Rows)
	for r := range b.Rows {
		b.Row(row, r)
		bw[r] = append([]float32(nil), row...)
	}
	for i := range m {
		for j := range n {
			var s float64
			if accumulate {
				s = float64(c0[i*ldc+j])
			}
			for p := range k {
				var bv float32
				if transB {
					bv = bw[j][p]
				} else {
					bv = bw[p][j]
				}
				s += float64(a[i*lda+p]) * float64(bv)
			}
			out[i*n+j] = s
		}
	}
	return out
}

func randMat(r *rand.Rand, dt DType, rows, cols, stride, off int) Mat {
	m := Mat{DType: dt, Rows: rows, Cols: cols, Stride: stride}
	n := off + (rows-1)*stride + cols
	if rows == 0 || cols == 0 {
		n = off
	}
	switch dt {
	case F32:
		d := make([]float32, n)
		for i := range d {
			d[i] = float32(r.NormFloat64())
		}
		m.F32 = d[off:]
	case BF16:
		d := make([]uint16, n)
		for i := range d {
			d[i] = F32ToBF16(float32(r.NormFloat64()))
		}
		m.U16 = d[off:]
	case F16:
		d := make([]uint16, n)
		for i := range d {
			d[i] = F32ToF16(float32(r.NormFloat64()))
		}
		m.U16 = d[off:]
	}
	return m
}

// gemmCase is one GEMM's operands at offsets and with strides wider than the shape, C
// filled with random values inside the m x n result and guard values around it.
type gemmCase struct {
	m, n, k, lda, ldc, aoff, coff int
	transB, acc                   bool
	a                             []float32
	b                             Mat
	c                             []float32
}

func newGemmCase(r *rand.Rand, m, n, k int, dt DType, transB, acc bool) *gemmCase {
	g := &gemmCase{m: m, n: n, k: k, lda: k + 3, ldc: n + 5, aoff: 1, coff: 2, transB: transB, acc: acc}
	g.a = randSlice(r, g.aoff+max(0, m*g.lda), 1)
	if transB {
		g.b = randMat(r, dt, n, k, k+1, 3)
	} else {
		g.b = randMat(r, dt, k, n, n+2, 3)
	}
	g.c = make([]float32, g.coff+m*g.ldc+8)
	for i := range g.c {
		g.c[i] = guard
	}
	for i := range m {
		for j := range n {
			g.c[g.coff+i*g.ldc+j] = float32(r.NormFloat64())
		}
	}
	return g
}

func (g *gemmCase) String() string {
	return fmt.Sprintf("%dx%dx%d/%v/T=%v/acc=%v", g.m, g.n, g.k, g.b.DType, g.transB, g.acc)
}

// run returns C after Gemm on a copy of it.
func (g *gemmCase) run() []float32 {
	c := slices.Clone(g.c)
	Gemm(g.m, g.n, g.k, g.a[g.aoff:], g.lda, g.b, g.transB, c[g.coff:], g.ldc, g.acc)
	return c
}

// check fails t unless every guard of c is intact and ok(i, j, C[i, j]) holds inside.
func (g *gemmCase) check(t *testing.T, name string, c []float32, ok func(i, j int, v float32) string) {
	t.Helper()
	for f := range c {
		ci := f - g.coff
		if ci < 0 || ci/g.ldc >= g.m || ci%g.ldc >= g.n {
			if c[f] != guard {
				t.Fatalf("%s: guard at %d overwritten: %v", name, f, c[f])
			}
			continue
		}
		if msg := ok(ci/g.ldc, ci%g.ldc, c[f]); msg != "" {
			t.Fatalf("%s: C[%d,%d] = %v, %s", name, ci/g.ldc, ci%g.ldc, c[f], msg)
		}
	}
}

func TestGemmVariants(t *testing.T) {
	shapes := [][3]int{{1, 1, 1}, {1, 70, 300}, {2, 33, 64}, {1, 600, 35}, {3, 40, 100}, {12, 32, 1}, {13, 33, 7}, {11, 31, 257}, {25, 65, 300}, {200, 3, 5}, {0, 5, 5}, {5, 0, 5}, {5, 5, 0}}
	if !testing.Short() { // several kc blocks, several row blocks, more than nc columns
		shapes = append(shapes, [3]int{150, 70, 513}, [3]int{7, 1030, 40})
	}
	for _, v := range Variants() {
		if !v.Supported {
			t.Logf("variant %s not supported here", v.Name)
			continue
		}
		t.Run(v.Name, func(t *testing.T) {
			defer Use(v)()
			r := rand.New(rand.NewPCG(1, 2))
			for _, s := range shapes {
				for _, dt := range []DType{F32, BF16, F16} {
					for _, transB := range []bool{false, true} {
						for _, acc := range []bool{false, true} {
							g := newGemmCase(r, s[0], s[1], s[2], dt, transB, acc)
							want := naive(g.m, g.n, g.k, g.a[g.aoff:], g.lda, g.b, transB, g.c[g.coff:], g.ldc, acc)
							tol := 1e-4 * (1 + math.Sqrt(float64(g.k)))
							g.check(t, g.String(), g.run(), func(i, j int, v float32) string {
								if w := want[i*g.n+j]; math.Abs(float64(v)-w) > tol {
									return fmt.Sprintf("want %v", w)
								}
								return ""
							})
						}
					}
				}
			}
		})
	}
}

// TestGemmSerialMatchesParallel: splitting over workers does not change results, in the
// float32 GEMM and in the bf16 one (columns and rows split).
func TestGemmSerialMatchesParallel(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, s := range [][3]int{{100, 300, 200}, {300, 40, 200}} {
		m, n, k := s[0], s[1], s[2]
		a := randSlice(r, m*k, 1)
		b := randMat(r, BF16, n, k, k, 0)
		for _, w := range []Mat{b, b.WithBF16(true)} {
			c1 := make([]float32, m*n)
			c2 := make([]float32, m*n)
			Gemm(m, n, k, a, k, w, true, c1, n, false)
			GemmSerial(m, n, k, a, k, w, true, c2, n, false)
			for i := range c1 {
				if c1[i] != c2[i] {
					t.Fatalf("%dx%dx%d bf16=%v: parallel C[%d] = %v, serial %v: the split must not change results", m, n, k, w.HasBF16(), i, c1[i], c2[i])
				}
			}
		}
	}
}

func TestGemmPanicsOnBadShape(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("Gemm with a short A did not panic")
		}
	}()
	b := F32Mat(make([]float32, 4), 2, 2, 0)
	Gemm(2, 2, 2, make([]float32, 3), 2, b, false, make([]float32, 4), 2, false)
}

func TestConversions(t *testing.T) {
	tests := []struct {
		f    float32
		bf16 uint16
		f16  uint16
	}{
		{1, 0x3f80, 0x3c00},
		{-2, 0xc000, 0xc000},
		{0.1, 0x3dcd, 0x2e66}, // 0x3dcccccd rounds up in bf16
		{65504, 0x4780, 0x7bff},
		{1e-7, 0x33d7, 0x0002}, // f16 subnormal
		{float32(math.Inf(1)), 0x7f80, 0x7c00},
	}
	for _, tt := range tests {
		if got := F32ToBF16(tt.f); got != tt.bf16 {
			t.Errorf("F32ToBF16(%v) = %#x, want %#x", tt.f, got, tt.bf16)
		}
		if got := F32ToF16(tt.f); got != tt.f16 {
			t.Errorf("F32ToF16(%v) = %#x, want %#x", tt.f, got, tt.f16)
		}
	}
	// Every half widens and narrows back to itself (NaNs aside).
	for u := range 1 << 16 {
		f := F16ToF32(uint16(u))
		if f != f {
			continue
		}
		if back := F32ToF16(f); back != uint16(u) {
			t.Fatalf("F32ToF16(F16ToF32(%#x)) = %#x", u, back)
		}
	}
	for u := range 1 << 16 {
		f := BF16ToF32(uint16(u))
		if f != f {
			continue
		}
		if back := F32ToBF16(f); back != uint16(u) {
			t.Fatalf("F32ToBF16(BF16ToF32(%#x)) = %#x", u, back)
		}
	}
}

func benchGemm(b *testing.B, m, n, k int, dt string) {
	r := rand.New(rand.NewPCG(5, 6))
	a := make([]float32, m*k)
	for i := range a {
		a[i] = float32(r.NormFloat64())
	}
	var w Mat
	switch dt {
	case "F32":
		w = randMat(r, F32, n, k, k, 0)
	case "BF16":
		w = randMat(r, BF16, n, k, k, 0)
	case "BF16x":
		w = randMat(r, BF16, n, k, k, 0).WithBF16(true)
	}
	c := make([]float32, m*n)
	for b.Loop() {
		Gemm(m, n, k, a, k, w, true, c, n, false)
	}
	b.ReportMetric(2*float64(m)*float64(n)*float64(k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// BenchmarkGemm times each variant on two transformer shapes: F32 and BF16 weights in
// float32 arithmetic, and bf16-packed weights in the bf16 GEMM ("BF16x").
func BenchmarkGemm(b *testing.B) {
	for _, s := range [][3]int{{768, 768, 768}, {1024, 3072, 768}} {
		for _, dt := range []string{"F32", "BF16", "BF16x"} {
			for _, v := range Variants() {
				if !v.Supported {
					continue
				}
				b.Run(fmt.Sprintf("%dx%dx%d/%v/%s", s[0], s[1], s[2], dt, v.Name), func(b *testing.B) {
					defer Use(v)()
					benchGemm(b, s[0], s[1], s[2], dt)
				})
			}
		}
	}
}

// BenchmarkMicroKernel times each variant's micro-kernels alone on one kc-deep tile
// (L1-resident), the peak the blocked GEMMs approach: the float32 kernel and, as
// "name/bf16", the bf16 GEMM's (VDPBF16PS, AMX or widening, whichever the variant has).
func BenchmarkMicroKernel(b *testing.B) {
	r := rand.New(rand.NewPCG(7, 8))
	a, w, c := randSlice(r, kc*mr, 1), randSlice(r, kc*nr, 1), make([]float32, mr*nr)
	words := make([]uint32, kc/2*nr)
	for i := range words {
		words[i] = 0x3f803f80 // 1, 1
	}
	for _, v := range Variants() {
		if !v.Supported {
			continue
		}
		report := func(b *testing.B) {
			b.ReportMetric(2*kc*mr*nr*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		}
		b.Run(v.Name, func(b *testing.B) {
			for b.Loop() {
				v.kernel(kc, &a[0], &w[0], &c[0], nr)
			}
			report(b)
		})
		b.Run(v.Name+"/bf16", func(b *testing.B) {
			for b.Loop() {
				v.bf16Tile(kc/2, a, words, c)
			}
			report(b)
		})
	}
}
