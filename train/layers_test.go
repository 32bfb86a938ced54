package train

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/pretrain/pretrain/nn"
	"github.com/pretrain/pretrain/nn/kernels"
)

// layerCase is one layer under a finite-difference check in float64: forward maps the named
// inputs to an output; backward maps them and the output gradient dy to each input's
// gradient. The scalar checked is Σ out·r for a fixed random r (so dy = r).
type layerCase struct {
	name     string
	inputs   map[string]int // name → length
	forward  func(in map[string][]float64) []float64
	backward func(in map[string][]float64, dy []float64) map[string][]float64
}

const (
	ln, ld = 3, 8 // rows, width
)

// The forwards these checks differentiate are nn's kernels, the ones nn's forward runs.

func linearForward(y, x, w, b []float64, n, in, out int) {
	kernels.MatMul(n, out, in, x, in, kernels.F64Mat(w, out, in, in), true, y, out, false)
	kernels.AddBias(y, b)
}

func conv1DForward(y, x, w, b []float64, n, in, out int) {
	kernels.MatMul(n, out, in, x, in, kernels.F64Mat(w, in, out, out), false, y, out, false)
	kernels.AddBias(y, b)
}

func embeddingForward(y, table []float64, ids []int32, d int) {
	for i, id := range ids {
		kernels.RowOf(y[i*d:(i+1)*d], kernels.F64Mat(table, len(table)/d, d, d), int(id))
	}
}

func layerNormForward(y, mean, rstd, x, w, b []float64, n, d int, eps float32) {
	for i := range n {
		mean[i], rstd[i] = kernels.LayerNorm(y[i*d:(i+1)*d], x[i*d:(i+1)*d], w, b, eps)
	}
}

func rmsNormForward(y, rstd, x, w []float64, n, d int, eps float32) {
	for i := range n {
		rstd[i] = kernels.RMSNorm(y[i*d:(i+1)*d], x[i*d:(i+1)*d], w, eps)
	}
}

// ropeTables returns cos and sin of positions 0..n-1 as nn's Llama forward makes them.
func ropeTables(invFreq []float32, n int) (cos, sin []float64) {
	half := len(invFreq)
	cos, sin = make([]float64, n*half), make([]float64, n*half)
	for i := range n {
		for j, f := range invFreq {
			a := float64(float32(i) * f)
			cos[i*half+j], sin[i*half+j] = math.Cos(a), math.Sin(a)
		}
	}
	return cos, sin
}

func ropeForward(x, cos, sin []float64, pos []int, heads, hd int) {
	half := hd / 2
	for i, p := range pos {
		for h := range heads {
			kernels.RoPE(x[(i*heads+h)*hd:(i*heads+h+1)*hd], cos[p*half:(p+1)*half], sin[p*half:(p+1)*half])
		}
	}
}

// attentionForward runs nn's attention kernel on each of a's rows and returns the output.
func attentionForward[F Float](a *Attention[F]) []F {
	out := make([]F, a.B*a.L*a.OutStride)
	for b := range a.B {
		k := kernels.Attention[F]{N: a.L, T: a.L, Heads: a.Heads, KVHeads: a.KVHeads, HeadDim: a.HeadDim, Scale: a.Scale,
			Q: a.Q[b*a.L*a.QStride:], QStride: a.QStride, K: a.K[b*a.L*a.KVStride:], V: a.V[b*a.L*a.KVStride:],
			KVStride: a.KVStride, Out: out[b*a.L*a.OutStride:], OutStride: a.OutStride}
		k.Run()
	}
	return out
}

func layerCases() []layerCase {
	ids := []int32{2, 0, 2, 1}
	attn := func(in map[string][]float64, heads, kv, hd, B, L int) *Attention[float64] {
		return &Attention[float64]{B: B, L: L, Heads: heads, KVHeads: kv, HeadDim: hd, Scale: 0.7,
			Q: in["q"], QStride: heads * hd, K: in["k"], V: in["v"], KVStride: kv * hd, OutStride: heads * hd}
	}
	cos, sin := ropeTables(nn.RopeInvFreq(&nn.Config{HeadDim: 4, RopeTheta: 10000}), 5)
	pos := []int{0, 3, 4}
	return []layerCase{
		{"linear", map[string]int{"x": ln * 5, "w": 4 * 5, "b": 4},
			func(in map[string][]float64) []float64 {
				y := make([]float64, ln*4)
				linearForward(y, in["x"], in["w"], in["b"], ln, 5, 4)
				return y
			},
			func(in map[string][]float64, dy []float64) map[string][]float64 {
				g := map[string][]float64{"x": make([]float64, ln*5), "w": make([]float64, 20), "b": make([]float64, 4)}
				LinearBackward(g["x"], g["w"], g["b"], dy, in["x"], in["w"], ln, 5, 4)
				return g
			}},
		{"conv1d", map[string]int{"x": ln * 5, "w": 5 * 4, "b": 4},
			func(in map[string][]float64) []float64 {
				y := make([]float64, ln*4)
				conv1DForward(y, in["x"], in["w"], in["b"], ln, 5, 4)
				return y
			},
			func(in map[string][]float64, dy []float64) map[string][]float64 {
				g := map[string][]float64{"x": make([]float64, ln*5), "w": make([]float64, 20), "b": make([]float64, 4)}
				Conv1DBackward(g["x"], g["w"], g["b"], dy, in["x"], in["w"], ln, 5, 4)
				return g
			}},
		{"embedding", map[string]int{"table": 3 * ld},
			func(in map[string][]float64) []float64 {
				y := make([]float64, len(ids)*ld)
				embeddingForward(y, in["table"], ids, ld)
				return y
			},
			func(in map[string][]float64, dy []float64) map[string][]float64 {
				g := map[string][]float64{"table": make([]float64, 3*ld)}
				EmbeddingBackward(g["table"], dy, ids, ld)
				return g
			}},
		{"layernorm", map[string]int{"x": ln * ld, "w": ld, "b": ld},
			func(in map[string][]float64) []float64 {
				y := make([]float64, ln*ld)
				layerNormForward(y, make([]float64, ln), make([]float64, ln), in["x"], in["w"], in["b"], ln, ld, 1e-5)
				return y
			},
			func(in map[string][]float64, dy []float64) map[string][]float64 {
				y, mu, r := make([]float64, ln*ld), make([]float64, ln), make([]float64, ln)
				layerNormForward(y, mu, r, in["x"], in["w"], in["b"], ln, ld, 1e-5)
				g := map[string][]float64{"x": make([]float64, ln*ld), "w": make([]float64, ld), "b": make([]float64, ld)}
				LayerNormBackward(g["x"], g["w"], g["b"], dy, in["x"], mu, r, in["w"], ln, ld)
				return g
			}},
		{"rmsnorm", map[string]int{"x": ln * ld, "w": ld},
			func(in map[string][]float64) []float64 {
				y := make([]float64, ln*ld)
				rmsNormForward(y, make([]float64, ln), in["x"], in["w"], ln, ld, 1e-5)
				return y
			},
			func(in map[string][]float64, dy []float64) map[string][]float64 {
				y, r := make([]float64, ln*ld), make([]float64, ln)
				rmsNormForward(y, r, in["x"], in["w"], ln, ld, 1e-5)
				g := map[string][]float64{"x": make([]float64, ln*ld), "w": make([]float64, ld)}
				RMSNormBackward(g["x"], g["w"], dy, in["x"], r, in["w"], ln, ld)
				return g
			}},
		{"gelu_new", map[string]int{"x": 20},
			func(in map[string][]float64) []float64 {
				y := append([]float64(nil), in["x"]...)
				kernels.GELUTanh64(y)
				return y
			},
			func(in map[string][]float64, dy []float64) map[string][]float64 {
				g := map[string][]float64{"x": make([]float64, 20)}
				GELUBackward(g["x"], dy, in["x"])
				return g
			}},
		{"swiglu", map[string]int{"gate": 20, "up": 20},
			func(in map[string][]float64) []float64 {
				y := append([]float64(nil), in["gate"]...)
				kernels.SwiGLU(y, in["up"])
				return y
			},
			func(in map[string][]float64, dy []float64) map[string][]float64 {
				g := map[string][]float64{"gate": make([]float64, 20), "up": make([]float64, 20)}
				SwiGLUBackward(g["gate"], g["up"], dy, in["gate"], in["up"])
				return g
			}},
		{"rope", map[string]int{"x": 3 * 2 * 4},
			func(in map[string][]float64) []float64 {
				y := append([]float64(nil), in["x"]...)
				ropeForward(y, cos, sin, pos, 2, 4)
				return y
			},
			func(in map[string][]float64, dy []float64) map[string][]float64 {
				g := map[string][]float64{"x": append([]float64(nil), dy...)}
				RopeBackward(g["x"], cos, sin, pos, 2, 4)
				return g
			}},
		{"attention_gqa", map[string]int{"q": 2 * 4 * 4 * 3, "k": 2 * 4 * 2 * 3, "v": 2 * 4 * 2 * 3},
			func(in map[string][]float64) []float64 {
				return attentionForward(attn(in, 4, 2, 3, 2, 4))
			},
			func(in map[string][]float64, dy []float64) map[string][]float64 {
				g := map[string][]float64{"q": make([]float64, 96), "k": make([]float64, 48), "v": make([]float64, 48)}
				attn(in, 4, 2, 3, 2, 4).Backward(g["q"], g["k"], g["v"], dy)
				return g
			}},
		{"cross_entropy", map[string]int{"logits": 4 * 6},
			func(in map[string][]float64) []float64 {
				return []float64{CrossEntropy(nil, in["logits"], []int32{1, -1, 5, 0}, 4, 6, 0)}
			},
			func(in map[string][]float64, dy []float64) map[string][]float64 {
				g := map[string][]float64{"logits": make([]float64, 24)}
				CrossEntropy(g["logits"], in["logits"], []int32{1, -1, 5, 0}, 4, 6, dy[0])
				return g
			}},
	}
}

func TestLayerGradientsFiniteDifference(t *testing.T) {
	for _, c := range layerCases() {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(5, 6))
			in := map[string][]float64{}
			for name, n := range c.inputs {
				v := make([]float64, n)
				for i := range v {
					v[i] = rng.NormFloat64()
				}
				in[name] = v
			}
			out := c.forward(in)
			r := make([]float64, len(out))
			for i := range r {
				r[i] = rng.NormFloat64()
			}
			scalar := func() float64 {
				var s float64
				for i, v := range c.forward(in) {
					s += v * r[i]
				}
				return s
			}
			grads := c.backward(in, r)
			const h = 1e-6
			for name, v := range in {
				g := grads[name]
				for i := range v {
					orig := v[i]
					v[i] = orig + h
					up := scalar()
					v[i] = orig - h
					down := scalar()
					v[i] = orig
					fd := (up - down) / (2 * h)
					if math.Abs(fd-g[i]) > 1e-7+1e-6*math.Abs(fd) {
						t.Errorf("d%s[%d] = %v, finite difference %v", name, i, g[i], fd)
					}
				}
			}
		})
	}
}

// TestMatmulFloat32MatchesGeneric: the float32 path runs nn's GEMM kernel, the float64 one
// the plain loops; both must compute the same products.
func TestMatmulFloat32MatchesGeneric(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, trans := range []bool{false, true} {
		const m, n, k = 13, 17, 19
		a32, b32 := make([]float32, m*k), make([]float32, n*k)
		a64, b64 := make([]float64, m*k), make([]float64, n*k)
		for i := range a32 {
			a32[i] = float32(rng.NormFloat64())
			a64[i] = float64(a32[i])
		}
		for i := range b32 {
			b32[i] = float32(rng.NormFloat64())
			b64[i] = float64(b32[i])
		}
		c32, c64 := make([]float32, m*n), make([]float64, m*n)
		for i := range c32 {
			c32[i], c64[i] = 1, 1
		}
		matmul(m, n, k, a32, b32, trans, c32, true)
		matmul(m, n, k, a64, b64, trans, c64, true)
		for i := range c32 {
			if math.Abs(float64(c32[i])-c64[i]) > 1e-4 {
				t.Fatalf("trans=%v: c[%d] = %v, float64 %v", trans, i, c32[i], c64[i])
			}
		}
	}
}

// TestLayersMatchTorch replays testdata/layers.json (gen_layers.py: torch.float64
// autograd on the same inputs): each layer's output and every input gradient.
func TestLayersMatchTorch(t *testing.T) {
	raw, err := os.ReadFile("testdata/layers.json")
	if err != nil {
		t.Fatal(err)
	}
	var fix map[string]struct {
		Inputs map[string][]float64
		DY     []float64
		Out    []float64
		Grads  map[string][]float64
	}
	if err := json.Unmarshal(raw, &fix); err != nil {
		t.Fatal(err)
	}
	near := func(got, want float64) bool { return math.Abs(got-want) <= 1e-12+1e-10*math.Abs(want) }
	for _, c := range layerCases() {
		t.Run(c.name, func(t *testing.T) {
			f, ok := fix[c.name]
			if !ok {
				t.Fatal("no fixture")
			}
			for name, n := range c.inputs {
				if len(f.Inputs[name]) != n {
					t.Fatalf("input %s has %d values, want %d", name, len(f.Inputs[name]), n)
				}
			}
			out := c.forward(f.Inputs)
			if len(out) != len(f.Out) {
				t.Fatalf("%d outputs, torch %d", len(out), len(f.Out))
			}
			for i, v := range out {
				if !near(v, f.Out[i]) {
					t.Fatalf("out[%d] = %v, torch %v", i, v, f.Out[i])
				}
			}
			for name, g := range c.backward(f.Inputs, f.DY) {
				for i, v := range g {
					if want := f.Grads[name][i]; !near(v, want) {
						t.Errorf("d%s[%d] = %v, torch %v", name, i, v, want)
					}
				}
			}
		})
	}
}

// TestAttentionFloat32MatchesFloat64: nn's float32 attention forward and the float32
// backward (GEMMs) against the float64 loops that the finite-difference and torch tests
// check, on odd shapes with GQA.
func TestAttentionFloat32MatchesFloat64(t *testing.T) {
	for _, s := range []struct{ B, L, H, KV, hd int }{{2, 7, 4, 2, 3}, {1, 33, 3, 1, 8}, {3, 5, 2, 2, 4}} {
		t.Run(fmt.Sprintf("B%d_L%d_H%d_KV%d_hd%d", s.B, s.L, s.H, s.KV, s.hd), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(s.L), 9))
			n := s.B * s.L
			fill := func(k int) ([]float32, []float64) {
				a, b := make([]float32, k), make([]float64, k)
				for i := range a {
					a[i] = float32(rng.NormFloat64())
					b[i] = float64(a[i])
				}
				return a, b
			}
			q32, q64 := fill(n * s.H * s.hd)
			k32, k64 := fill(n * s.KV * s.hd)
			v32, v64 := fill(n * s.KV * s.hd)
			do32, do64 := fill(n * s.H * s.hd)
			a32 := &Attention[float32]{B: s.B, L: s.L, Heads: s.H, KVHeads: s.KV, HeadDim: s.hd, Scale: 0.4,
				Q: q32, QStride: s.H * s.hd, K: k32, V: v32, KVStride: s.KV * s.hd, OutStride: s.H * s.hd}
			a64 := &Attention[float64]{B: s.B, L: s.L, Heads: s.H, KVHeads: s.KV, HeadDim: s.hd, Scale: 0.4,
				Q: q64, QStride: s.H * s.hd, K: k64, V: v64, KVStride: s.KV * s.hd, OutStride: s.H * s.hd}
			out32, out64 := attentionForward(a32), attentionForward(a64)
			dq32, dk32, dv32 := make([]float32, len(q32)), make([]float32, len(k32)), make([]float32, len(v32))
			dq64, dk64, dv64 := make([]float64, len(q32)), make([]float64, len(k32)), make([]float64, len(v32))
			a32.Backward(dq32, dk32, dv32, do32)
			a64.Backward(dq64, dk64, dv64, do64)
			for _, c := range []struct {
				name string
				got  []float32
				want []float64
			}{{"out", out32, out64}, {"dq", dq32, dq64}, {"dk", dk32, dk64}, {"dv", dv32, dv64}} {
				for i, w := range c.want {
					if math.Abs(float64(c.got[i])-w) > 2e-5*(1+math.Abs(w)) {
						t.Fatalf("%s[%d] = %v, float64 %v", c.name, i, c.got[i], w)
					}
				}
			}
		})
	}
}
