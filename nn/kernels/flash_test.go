package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestAttentionBF16 runs the bf16 attention (flash tiles, online softmax) with the Go twin
// of VDPBF16PS and with every supported variant against float64 attention on the same
// operands rounded to bfloat16 (the slow rounding of nearestBF16). Besides the rounding of
// the probabilities to bfloat16 (relative 2^-8 each, so 2^-8·Σp·|v| on an output), only
// float32 roundings remain: in each score (its sum of hd exact products and the scaling),
// in exp and its argument, in the sums l and O over T terms and in the final division.
func TestAttentionBF16(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	type shape struct {
		n, pos0, heads, kv, hd, window int
		scale                          float64
	}
	cases := []shape{
		{1, 0, 2, 2, 8, 0, 0.3}, {5, 0, 4, 2, 6, 0, 0.3}, {150, 0, 3, 1, 16, 0, 0.3}, {1, 70, 4, 4, 8, 0, 0.3},
		{30, 40, 2, 1, 4, 0, 0.3}, {100, 0, 2, 2, 8, 17, 0.3}, {290, 0, 1, 1, 7, 0, 2},
	}
	if !testing.Short() { // several query blocks and key tiles, a cache, windows across tiles
		cases = append(cases, shape{200, 400, 2, 1, 64, 0, 0.125}, shape{300, 0, 2, 2, 33, 0, 1.5},
			shape{250, 300, 2, 1, 32, 290, 0.5}, shape{1, 700, 2, 1, 64, 0, 0.125})
	}
	const u = 0x1p-24
	for _, tc := range cases {
		T := tc.pos0 + tc.n
		qs, kvs := tc.heads*tc.hd+3, tc.kv*tc.hd+1
		a := &Attention[float32]{N: tc.n, T: T, Pos0: tc.pos0, Heads: tc.heads, KVHeads: tc.kv, HeadDim: tc.hd,
			Scale: tc.scale, Window: tc.window, BF16: true,
			Q: randSlice(r, tc.n*qs, 1), QStride: qs, K: randSlice(r, T*kvs, 1), V: randSlice(r, T*kvs, 1), KVStride: kvs,
			OutStride: tc.heads * tc.hd}
		want, mag, smag := naiveAttention(a, true)
		fp32 := *a
		fp32.BF16, fp32.Out = false, make([]float32, len(want))
		fp32.Run()
		for _, v := range append([]*Variant{twin, amxTwin}, Variants()...) {
			if !v.Supported {
				continue
			}
			t.Run(fmt.Sprintf("%+v/%s", tc, v.Name), func(t *testing.T) {
				defer Use(v)()
				a.Out = make([]float32, len(want))
				a.Run()
				worst, differs := 0.0, false
				for i, w := range want {
					eps := u * (float64(tc.hd+4)*smag[i] + 4)
					bound := (0x1p-8 + 2*eps + 2*u*float64(T+16) + 4*u) * mag[i]
					if d := math.Abs(float64(a.Out[i]) - w); !(d <= bound) {
						t.Fatalf("Out[%d] = %v, want %v ± %.3g", i, a.Out[i], w, bound)
					} else if mag[i] > 0 {
						worst = max(worst, d/mag[i])
					}
					differs = differs || a.Out[i] != fp32.Out[i]
				}
				if !differs {
					t.Errorf("bf16 attention equals the float32 one: nothing was rounded")
				}
				t.Logf("largest |error| / Σp|v|: %.3g (2^-8 = %.3g)", worst, 0x1p-8)
			})
		}
	}
}

// BenchmarkAttention times one layer's causal attention over L tokens of llama-1b's shape
// (32 heads, 8 key/value heads, head dim 64) in float32 and as bf16 flash attention.
func BenchmarkAttention(b *testing.B) {
	r := rand.New(rand.NewPCG(23, 24))
	for _, L := range []int{1024, 4096} {
		for _, bf16 := range []bool{false, true} {
			b.Run(fmt.Sprintf("L%d/bf16=%v", L, bf16), func(b *testing.B) {
				const heads, kv, hd = 32, 8, 64
				a := &Attention[float32]{N: L, T: L, Heads: heads, KVHeads: kv, HeadDim: hd, Scale: 0.125, BF16: bf16,
					Q: randSlice(r, L*heads*hd, 1), QStride: heads * hd, K: randSlice(r, L*kv*hd, 1), V: randSlice(r, L*kv*hd, 1),
					KVStride: kv * hd, Out: make([]float32, L*heads*hd), OutStride: heads * hd}
				for b.Loop() {
					a.Run()
				}
				// QKᵀ and PV over the causal half: 2·2·L²/2·hd per head.
				b.ReportMetric(2*float64(L)*float64(L)*hd*heads*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

// TestAttentionBF16NaN checks that a NaN value reaches every output that attends to it
// (rows at or after its key, the value's column, across key tiles) and nothing outside the
// query blocks that read its key tile: other columns and earlier blocks stay finite. (Rows
// of its own block before the key become NaN too, through 0·NaN in PV, as in the float32
// attention and in torch's masked matmul.)
func TestAttentionBF16NaN(t *testing.T) {
	r := rand.New(rand.NewPCG(29, 30))
	const n, heads, hd, bad = 300, 2, 8, 200
	a := &Attention[float32]{N: n, T: n, Heads: heads, KVHeads: 1, HeadDim: hd, Scale: 0.3, BF16: true,
		Q: randSlice(r, n*heads*hd, 1), QStride: heads * hd, K: randSlice(r, n*hd, 1), V: randSlice(r, n*hd, 1),
		KVStride: hd, Out: make([]float32, n*heads*hd), OutStride: heads * hd}
	a.V[bad*hd+3] = float32(math.NaN())
	a.Run()
	for i := range n {
		for c := range heads * hd {
			x := a.Out[i*heads*hd+c]
			mustNaN := i >= bad && c%hd == 3
			mayNaN := i >= bad/flashRows*flashRows && c%hd == 3
			if nan := x != x; nan != mustNaN && !(nan && mayNaN) {
				t.Fatalf("row %d column %d = %v", i, c, x)
			}
		}
	}
}
