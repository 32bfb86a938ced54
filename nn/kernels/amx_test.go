package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// amxTwin runs the bf16 GEMM through the AMX path (row-major A padded to whole tiles, B
// panels read 16 pairs at a time) on the Go twin of the TDPBF16PS sequence.
var amxTwin = &Variant{Name: "amx-twin", Supported: true, kernel: gemmKernelGeneric, bf16: gemmKernelBF16AMXGeneric, rowMajorA: true}

// amxOrder computes the bf16 GEMM in the AMX kernels' documented order (amx.go) from
// scratch, with each rounding done by [exactFMA] and float64 sums rounded once: per kc
// block and output, tiles of 16 pairs with separate even and odd sums, their sum added to
// the block's tile, the tile added to C. Valid while no partial sum is subnormal.
func amxOrder(m, n, k int, a []float32, lda int, b Mat, transB bool, c []float32, ldc int, accumulate bool) []float32 {
	out := make([]float32, m*n)
	op := roundedOp(b, transB, k, n)
	bw := make([][]uint16, n) // bw[j][kk]
	for j := range n {
		bw[j] = make([]uint16, roundUp(k, 2*amxPairs))
		for kk := range k {
			bw[j][kk] = op(kk, j)
		}
	}
	add := func(x, y float32) float32 { return float32(float64(x) + float64(y)) }
	for i := range m {
		aw := make([]uint16, roundUp(k, 2*amxPairs))
		for kk := range k {
			aw[kk] = nearestBF16(a[i*lda+kk])
		}
		for j := range n {
			var acc float32
			if accumulate {
				acc = c[i*ldc+j]
			}
			for pc := 0; pc < k; pc += kc {
				var tile float32
				for t := pc; t < min(pc+kc, k); t += 2 * amxPairs {
					var even, odd float32
					for kk := t; kk < t+2*amxPairs; kk += 2 {
						even = exactFMA(even, aw[kk], bw[j][kk])
						odd = exactFMA(odd, aw[kk+1], bw[j][kk+1])
					}
					tile = add(tile, add(even, odd))
				}
				acc = add(acc, tile)
			}
			out[i*n+j] = acc
		}
	}
	return out
}

// TestGemmBF16AMX runs the bf16 GEMM through the AMX path: on the Go twin everywhere, and on
// the AMX kernel where the CPU has AMX-BF16 and the OS grants the tile state. Every output is
// within the float32 summation bound of the float64 product of the rounded operands; the
// twin's equal the documented order (amxOrder) bit for bit, which tests the row-major packing
// of A, the padding of both operands to whole tiles and the walk over tiles, kc blocks and
// panels. The hardware's agreement with that order is logged: it is the SDM's pseudocode,
// not yet confirmed on a CPU.
func TestGemmBF16AMX(t *testing.T) {
	vs := []*Variant{amxTwin}
	if hw := amxVariant(); hw != nil {
		vs = append(vs, hw)
	} else {
		t.Logf("AMX kernel not tested here: %v", amxUnavailable())
	}
	shapes := [][3]int{{1, 1, 1}, {2, 33, 64}, {3, 40, 101}, {12, 32, 32}, {13, 33, 7}, {25, 65, 300}}
	if !testing.Short() {
		shapes = append(shapes, [3]int{150, 70, 513}, [3]int{7, 1030, 40})
	}
	r := rand.New(rand.NewPCG(25, 26))
	for _, s := range shapes {
		for _, transB := range []bool{false, true} {
			for _, acc := range []bool{false, true} {
				g := newGemmCase(r, s[0], s[1], s[2], BF16, transB, acc)
				g.b = g.b.WithBF16(transB)
				want, bound := bf16Reference(g.m, g.n, g.k, g.a[g.aoff:], g.lda, g.b, transB, g.c[g.coff:], g.ldc, acc)
				order := amxOrder(g.m, g.n, g.k, g.a[g.aoff:], g.lda, g.b, transB, g.c[g.coff:], g.ldc, acc)
				for _, v := range vs {
					restore := Use(v)
					c := g.run()
					restore()
					differ := 0
					g.check(t, g.String()+"/"+v.Name, c, func(i, j int, x float32) string {
						if w, b := want[i*g.n+j], bound[i*g.n+j]; math.Abs(float64(x)-w) > b {
							return fmt.Sprintf("want %v ± %g", w, b)
						}
						if o := order[i*g.n+j]; x != o {
							if v == amxTwin {
								return fmt.Sprintf("the documented order gives %v", o)
							}
							differ++
						}
						return ""
					})
					if v != amxTwin {
						t.Logf("%v/%s: %d of %d outputs differ from the SDM pseudocode's order", g, v.Name, differ, g.m*g.n)
					}
				}
			}
		}
	}
}

// TestPackAWords checks both word layouts against the bf16 bits of A: every word written,
// pairs past kb and rows past mb zero.
func TestPackAWords(t *testing.T) {
	r := rand.New(rand.NewPCG(27, 28))
	m, lda := 30, 41
	a := randSlice(r, m*lda, 1)
	for i := range a {
		a[i] = BF16ToF32(roundBF16(a[i]))
	}
	ic, mb, pc, kb := 3, 25, 2, 35
	elem := func(i, kk int) uint32 { // bf16 bits of A[ic+i, pc+kk], zero outside the block
		if i >= mb || kk >= kb {
			return 0
		}
		return uint32(nearestBF16(a[(ic+i)*lda+pc+kk]))
	}
	for _, rowMajor := range []bool{false, true} {
		kpad := (kb + 1) / 2
		if rowMajor {
			kpad = roundUp(kpad, amxPairs)
		}
		dst := make([]uint32, roundUp(mb, mr)*kpad)
		for i := range dst {
			dst[i] = 0xdeadbeef // every word must be written
		}
		packAWords(dst, a, lda, ic, mb, pc, kb, kpad, rowMajor)
		for i := range roundUp(mb, mr) {
			for p := range kpad {
				at := (i/mr)*mr*kpad + p*mr + i%mr
				if rowMajor {
					at = (i/mr)*mr*kpad + (i%mr)*kpad + p
				}
				if want := elem(i, 2*p) | elem(i, 2*p+1)<<16; dst[at] != want {
					t.Fatalf("rowMajor %v: row %d pair %d = %#x, want %#x", rowMajor, i, p, dst[at], want)
				}
			}
		}
	}
}
