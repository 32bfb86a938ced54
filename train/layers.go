package train

import (
	"math"

	"github.com/pretrain/pretrain/nn/kernels"
)

// Float is the element type of a training network: float32 for training, float64 for the
// gradient-check mode, where finite differences are accurate enough to check every
// parameter of a tiny model.
type Float = kernels.Float

// Each function below is the backward of one of nn's layers, reading what nn's forward
// recorded in its trace. Backwards accumulate (+=) into parameter gradients and overwrite
// input gradients unless documented otherwise. Rows are tokens: n rows of width d,
// contiguous.

// matmul computes C (m x n) = A (m x k) · op(B), where op(B) is B (k x n) or, with transB,
// Bᵀ for B stored n x k; accumulate adds into C. It runs on nn's kernels.
func matmul[F Float](m, n, k int, a, b []F, transB bool, c []F, accumulate bool) {
	rows, cols := k, n
	if transB {
		rows, cols = n, k
	}
	kernels.MatMul(m, n, k, a, k, kernels.MatOf(b, rows, cols, cols), transB, c, n, accumulate)
}

// transpose returns the k x m transpose of the m x k matrix a in dst, in 32 x 32 tiles so
// both sides stay in cache.
func transpose[F Float](dst, a []F, m, k int) []F {
	dst = growTo(dst, m*k)
	const tile = 32
	for i0 := 0; i0 < m; i0 += tile {
		for j0 := 0; j0 < k; j0 += tile {
			for i := i0; i < min(i0+tile, m); i++ {
				for j := j0; j < min(j0+tile, k); j++ {
					dst[j*m+i] = a[i*k+j]
				}
			}
		}
	}
	return dst
}

func growTo[F Float](s []F, n int) []F {
	if cap(s) < n {
		return make([]F, n)
	}
	return s[:n]
}

// LinearBackward is the backward of y = x·Wᵀ + b for a torch Linear weight W (out x in): dx = dy·W (overwritten; skipped when dx is
// nil), dW += dyᵀ·x, db += Σ rows of dy (db may be nil).
func LinearBackward[F Float](dx, dw, db, dy, x, w []F, n, in, out int) {
	if dx != nil {
		matmul(n, in, out, dy, w, false, dx, false)
	}
	if n*out <= n*in+in*out {
		dyT := transpose(nil, dy, n, out)
		matmul(out, in, n, dyT, x, false, dw, true)
	} else {
		// A wide output (the LM head: out = vocabulary) is cheaper as (xᵀ·dy)ᵀ: the
		// transposes then touch n·in + in·out values instead of n·out.
		xT := transpose(nil, x, n, in)
		dwT := make([]F, in*out)
		matmul(in, out, n, xT, dy, false, dwT, false)
		const tile = 32
		kernels.ParallelFor((out+tile-1)/tile, func(lo, hi int) {
			for j0 := lo * tile; j0 < min(hi*tile, out); j0 += tile {
				for i0 := 0; i0 < in; i0 += tile {
					for j := j0; j < min(j0+tile, out); j++ {
						for i := i0; i < min(i0+tile, in); i++ {
							dw[j*in+i] += dwT[i*out+j]
						}
					}
				}
			}
		})
	}
	if db != nil {
		sumRows(db, dy, n, out)
	}
}

// Conv1DBackward is the backward of y = x·W + b for a GPT-2 Conv1D weight W (in x out): dx = dy·Wᵀ, dW += xᵀ·dy, db += Σ rows of dy.
func Conv1DBackward[F Float](dx, dw, db, dy, x, w []F, n, in, out int) {
	if dx != nil {
		matmul(n, in, out, dy, w, true, dx, false)
	}
	xT := transpose(nil, x, n, in)
	matmul(in, out, n, xT, dy, false, dw, true)
	if db != nil {
		sumRows(db, dy, n, out)
	}
}

func sumRows[F Float](dst, x []F, n, d int) {
	for i := range n {
		row := x[i*d : (i+1)*d]
		for j := range dst {
			dst[j] += row[j]
		}
	}
}

// EmbeddingBackward scatters dy's rows into dTable at ids (+=; repeated ids add up).
func EmbeddingBackward[F Float](dTable, dy []F, ids []int32, d int) {
	for i, id := range ids {
		dst := dTable[int(id)*d : (int(id)+1)*d]
		for j, v := range dy[i*d : (i+1)*d] {
			dst[j] += v
		}
	}
}

// LayerNormBackward is LayerNorm's backward, from the mean and rstd its forward recorded:
// dx = rstd·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)) with ĝ = dy·w, x̂ = (x−μ)·rstd;
// dw += Σ dy·x̂, db += Σ dy. dx may alias dy.
func LayerNormBackward[F Float](dx, dw, db, dy, x, mean, rstd, w []F, n, d int) {
	for i := range n {
		xi, dyi, dxi := x[i*d:(i+1)*d], dy[i*d:(i+1)*d], dx[i*d:(i+1)*d]
		mu, r := mean[i], rstd[i]
		var sg, sgx float64
		for j, v := range xi {
			xh := (v - mu) * r
			g := dyi[j] * w[j]
			sg += float64(g)
			sgx += float64(g * xh)
			dw[j] += dyi[j] * xh
			db[j] += dyi[j]
		}
		mg, mgx := F(sg/float64(d)), F(sgx/float64(d))
		for j, v := range xi {
			xh := (v - mu) * r
			dxi[j] = r * (dyi[j]*w[j] - mg - xh*mgx)
		}
	}
}

// RMSNormBackward is RMSNorm's backward, from the rstd its forward recorded:
// dx = rstd·ĝ − x·rstd³·mean(ĝ·x) with ĝ = dy·w; dw += Σ dy·x·rstd. dx may
// alias dy.
func RMSNormBackward[F Float](dx, dw, dy, x, rstd, w []F, n, d int) {
	for i := range n {
		xi, dyi, dxi := x[i*d:(i+1)*d], dy[i*d:(i+1)*d], dx[i*d:(i+1)*d]
		r := rstd[i]
		var sgx float64
		for j, v := range xi {
			sgx += float64(dyi[j] * w[j] * v)
			dw[j] += dyi[j] * v * r
		}
		c := r * r * r * F(sgx/float64(d))
		for j, v := range xi {
			dxi[j] = r*dyi[j]*w[j] - v*c
		}
	}
}

const geluC = 0.7978845608028654 // √(2/π)

// GELUBackward sets dx = dy·gelu_new'(x) (gelu_new is 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))). dx may alias dy.
func GELUBackward[F Float](dx, dy, x []F) {
	if x32, ok := any(x).([]float32); ok {
		dx32, dy32 := any(dx).([]float32), any(dy).([]float32)
		for i, v := range x32 {
			t := kernels.Tanh(geluC * (v + 0.044715*v*v*v))
			dx32[i] = dy32[i] * (0.5*(1+t) + 0.5*v*(1-t*t)*geluC*(1+3*0.044715*v*v))
		}
		return
	}
	for i, v := range x {
		u := float64(v)
		t := math.Tanh(geluC * (u + 0.044715*u*u*u))
		g := 0.5*(1+t) + 0.5*u*(1-t*t)*geluC*(1+3*0.044715*u*u)
		dx[i] = dy[i] * F(g)
	}
}

// SwiGLUBackward is the backward of silu(gate)·up: it sets dGate = dy·up·silu'(gate) and dUp = dy·silu(gate).
func SwiGLUBackward[F Float](dGate, dUp, dy, gate, up []F) {
	for i, g := range gate {
		u := float64(g)
		s := 1 / (1 + math.Exp(-u))
		dUp[i] = dy[i] * F(u*s)
		dGate[i] = dy[i] * up[i] * F(s*(1+u*(1-s)))
	}
}

// RopeBackward rotates gradients back (by the negative angle), in place: each head (width
// hd) of each row of dx (n rows of heads·hd), row i by the tables' position pos[i].
func RopeBackward[F Float](dx, cos, sin []F, pos []int, heads, hd int) {
	rope(dx, cos, sin, pos, heads, hd, -1)
}

func rope[F Float](x, cos, sin []F, pos []int, heads, hd int, sign F) {
	half := hd / 2
	for i, p := range pos {
		c, s := cos[p*half:(p+1)*half], sin[p*half:(p+1)*half]
		for h := range heads {
			v := x[(i*heads+h)*hd : (i*heads+h+1)*hd]
			for j := range half {
				x1, x2 := v[j], v[j+half]
				v[j] = x1*c[j] - sign*x2*s[j]
				v[j+half] = x2*c[j] + sign*x1*s[j]
			}
		}
	}
}
