package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// ulps is the distance in float32 units in the last place between got and the float64 want.
func ulps(got float32, want float64) float64 {
	w := float32(want)
	if got == w {
		return 0
	}
	ulp := math.Abs(float64(math.Nextafter32(w, float32(math.Inf(1)))) - float64(w))
	return math.Abs(float64(got)-want) / ulp
}

func TestExp(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for range 200000 {
		x := float32(r.Float64()*190 - 100)
		if d := ulps(Exp(x), math.Exp(float64(x))); d > 2 && math.Exp(float64(x)) > 1.2e-38 {
			t.Fatalf("Exp(%v) = %v, want %v (%.1f ulp)", x, Exp(x), math.Exp(float64(x)), d)
		}
	}
	specials := []struct{ x, want float32 }{{0, 1}, {-200, 0}, {200, float32(math.Inf(1))}, {float32(math.Inf(-1)), 0}}
	for _, s := range specials {
		if got := Exp(s.x); got != s.want {
			t.Errorf("Exp(%v) = %v, want %v", s.x, got, s.want)
		}
	}
	if got := Exp(float32(math.NaN())); got == got {
		t.Errorf("Exp(NaN) = %v", got)
	}
}

// withVec runs f once per variant the CPU supports; the vector loops follow the GEMM variant.
func withVec(t *testing.T, f func(t *testing.T)) {
	for _, v := range Variants() {
		if !v.Supported {
			continue
		}
		t.Run(v.Name, func(t *testing.T) {
			defer Use(v)()
			f(t)
		})
	}
}

func randSlice(r *rand.Rand, n int, scale float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(scale * r.NormFloat64())
	}
	return x
}

func TestExpSumAndLogSumExp(t *testing.T) {
	withVec(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(1, 9))
		for _, n := range []int{1, 15, 16, 17, 100, 1003} {
			x := randSlice(r, n, 10)
			x[n/2] = -200 // underflows to 0
			var want float64
			m := float32(3)
			for _, v := range x {
				want += math.Exp(float64(v - m))
			}
			y := append([]float32(nil), x...)
			got := ExpSum(y, m)
			if math.Abs(got-want) > 1e-6*want+1e-30 {
				t.Errorf("n=%d: ExpSum = %v, want %v", n, got, want)
			}
			for i, v := range x {
				if d := ulps(y[i], math.Exp(float64(v-m))); d > 3 && y[i] > 1e-37 {
					t.Fatalf("n=%d: exp element %d = %v, want %v", n, i, y[i], math.Exp(float64(v-m)))
				}
			}
			// Log-sum-exp, whole and streamed in blocks of 7.
			var lse float64
			mx := math.Inf(-1)
			for _, v := range x {
				mx = math.Max(mx, float64(v))
			}
			for _, v := range x {
				lse += math.Exp(float64(v) - mx)
			}
			lse = mx + math.Log(lse)
			if got := LogSumExp(append([]float32(nil), x...)); math.Abs(got-lse) > 1e-5 {
				t.Errorf("n=%d: LogSumExp = %v, want %v", n, got, lse)
			}
			rm, rs := math.Inf(-1), 0.0
			for i := 0; i < n; i += 7 {
				rm, rs = OnlineLogSumExp(append([]float32(nil), x[i:min(n, i+7)]...), rm, rs)
			}
			if got := rm + math.Log(rs); math.Abs(got-lse) > 1e-5 {
				t.Errorf("n=%d: streamed log-sum-exp = %v, want %v", n, got, lse)
			}
		}
	})
	if got := LogSumExp([]float32{1, float32(math.NaN())}); !math.IsNaN(got) {
		t.Errorf("LogSumExp with NaN = %v", got)
	}
	if m, _ := OnlineLogSumExp([]float32{float32(math.NaN())}, 0, 1); !math.IsNaN(m) {
		t.Errorf("OnlineLogSumExp with NaN max = %v", m)
	}
}

func TestActivations(t *testing.T) {
	withVec(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(2, 9))
		x := randSlice(r, 1000, 4)
		x = append(x, 30, -30, 0, 1e-3, -1e-3)
		tests := []struct {
			name string
			f    func([]float32)
			want func(float64) float64
		}{
			{"gelu_new", GELUTanh, func(v float64) float64 {
				return 0.5 * v * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(v+0.044715*v*v*v)))
			}},
			{"gelu", GELUErf, func(v float64) float64 { return 0.5 * v * (1 + math.Erf(v/math.Sqrt2)) }},
			{"silu", SiLU, func(v float64) float64 { return v / (1 + math.Exp(-v)) }},
			{"relu", ReLU, func(v float64) float64 { return math.Max(v, 0) }},
		}
		for _, tt := range tests {
			y := append([]float32(nil), x...)
			tt.f(y)
			for i, v := range x {
				w := tt.want(float64(v))
				if math.Abs(float64(y[i])-w) > 2e-6*(1+math.Abs(w)) {
					t.Errorf("%s(%v) = %v, want %v", tt.name, v, y[i], w)
				}
			}
		}
	})
}

func TestNormsSoftmaxRoPE(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 9))
	n := 37
	x, w, b := randSlice(r, n, 2), randSlice(r, n, 1), randSlice(r, n, 1)
	y := append([]float32(nil), x...)
	LayerNorm(y, y, w, b, 1e-5)
	var mean, v float64
	for _, e := range x {
		mean += float64(e) / float64(n)
	}
	for _, e := range x {
		v += (float64(e) - mean) * (float64(e) - mean) / float64(n)
	}
	for i, e := range x {
		want := (float64(e)-mean)/math.Sqrt(v+1e-5)*float64(w[i]) + float64(b[i])
		if math.Abs(float64(y[i])-want) > 1e-5*(1+math.Abs(want)) {
			t.Fatalf("LayerNorm[%d] = %v, want %v", i, y[i], want)
		}
	}
	y = append([]float32(nil), x...)
	RMSNorm(y, y, w, 1e-6)
	var ms float64
	for _, e := range x {
		ms += float64(e) * float64(e) / float64(n)
	}
	for i, e := range x {
		want := float64(e) / math.Sqrt(ms+1e-6) * float64(w[i])
		if math.Abs(float64(y[i])-want) > 1e-5*(1+math.Abs(want)) {
			t.Fatalf("RMSNorm[%d] = %v, want %v", i, y[i], want)
		}
	}
	withVec(t, func(t *testing.T) {
		y := append([]float32(nil), x...)
		Softmax(y)
		var s float64
		for _, e := range x {
			s += math.Exp(float64(e))
		}
		for i, e := range x {
			if want := math.Exp(float64(e)) / s; math.Abs(float64(y[i])-want) > 1e-6 {
				t.Fatalf("Softmax[%d] = %v, want %v", i, y[i], want)
			}
		}
	})
	// RoPE rotates each pair (i, i+h) by its angle: norms of pairs are preserved.
	h := 4
	q := randSlice(r, 2*h, 1)
	cs, sn := make([]float32, h), make([]float32, h)
	for i := range h {
		a := float64(i+1) * 0.7
		cs[i], sn[i] = float32(math.Cos(a)), float32(math.Sin(a))
	}
	y = append([]float32(nil), q...)
	RoPE(y, cs, sn)
	for i := range h {
		a := float64(i+1) * 0.7
		w1 := float64(q[i])*math.Cos(a) - float64(q[i+h])*math.Sin(a)
		w2 := float64(q[i+h])*math.Cos(a) + float64(q[i])*math.Sin(a)
		if math.Abs(float64(y[i])-w1) > 1e-6 || math.Abs(float64(y[i+h])-w2) > 1e-6 {
			t.Fatalf("RoPE pair %d = (%v, %v), want (%v, %v)", i, y[i], y[i+h], w1, w2)
		}
	}
}

// naiveAttention is causal attention in float64, one query row at a time, on a's operands
// or, with bf16, on their nearest bfloat16 values. With each output it returns what rounding
// errors scale with: mag, Σ p·|v| over the row's keys, and smag, the largest Σ|q·k|·Scale.
func naiveAttention(a *Attention[float32], bf16 bool) (out, mag, smag []float64) {
	out = make([]float64, a.N*a.Heads*a.HeadDim)
	mag, smag = make([]float64, len(out)), make([]float64, len(out))
	val := func(x float32) float64 {
		if bf16 {
			return float64(BF16ToF32(nearestBF16(x)))
		}
		return float64(x)
	}
	rep := a.Heads / a.KVHeads
	for h := range a.Heads {
		kvh := h / rep
		for i := range a.N {
			pos := a.Pos0 + i
			lo := 0
			if a.Window > 0 {
				lo = max(0, pos-a.Window+1)
			}
			var sc []float64
			mx, sm := math.Inf(-1), 0.0
			for j := lo; j <= pos; j++ {
				var s, abs float64
				for d := range a.HeadDim {
					t := val(a.Q[i*a.QStride+h*a.HeadDim+d]) * val(a.K[j*a.KVStride+kvh*a.HeadDim+d])
					s += t
					abs += math.Abs(t)
				}
				s *= a.Scale
				sc = append(sc, s)
				mx = math.Max(mx, s)
				sm = math.Max(sm, abs*a.Scale)
			}
			var z float64
			for k := range sc {
				sc[k] = math.Exp(sc[k] - mx)
				z += sc[k]
			}
			for d := range a.HeadDim {
				var o, m float64
				for k, p := range sc {
					v := val(a.V[(lo+k)*a.KVStride+kvh*a.HeadDim+d])
					o += p / z * v
					m += p / z * math.Abs(v)
				}
				at := i*a.Heads*a.HeadDim + h*a.HeadDim + d
				out[at], mag[at], smag[at] = o, m, sm
			}
		}
	}
	return out, mag, smag
}

func TestAttention(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 9))
	for _, tc := range []struct{ n, pos0, heads, kv, hd, window int }{
		{1, 0, 2, 2, 8, 0}, {5, 0, 4, 2, 6, 0}, {150, 0, 3, 1, 16, 0}, {1, 70, 4, 4, 8, 0}, {30, 40, 2, 1, 4, 0}, {100, 0, 2, 2, 8, 17},
	} {
		t.Run(fmt.Sprintf("%+v", tc), func(t *testing.T) {
			T := tc.pos0 + tc.n
			qs, kvs := tc.heads*tc.hd+3, tc.kv*tc.hd+1
			a := &Attention[float32]{N: tc.n, T: T, Pos0: tc.pos0, Heads: tc.heads, KVHeads: tc.kv, HeadDim: tc.hd, Scale: 0.3, Window: tc.window,
				Q: randSlice(r, tc.n*qs, 1), QStride: qs, K: randSlice(r, T*kvs, 1), V: randSlice(r, T*kvs, 1), KVStride: kvs,
				Out: make([]float32, tc.n*tc.heads*tc.hd), OutStride: tc.heads * tc.hd}
			want, _, _ := naiveAttention(a, false)
			a.Run()
			for i, w := range want {
				if math.Abs(float64(a.Out[i])-w) > 1e-5 {
					t.Fatalf("Out[%d] = %v, want %v", i, a.Out[i], w)
				}
			}
		})
	}
}
