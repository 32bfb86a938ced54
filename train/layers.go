package train

import (
	"math"

	"github.com/pretrain/pretrain/nn/kernels"
)

// Float is the element type of a training network: float32 for training, float64 for the
// gradient-check mode, where finite differences are accurate enough to check every
// parameter of a tiny model.
type Float interface{ ~float32 | ~float64 }

// Each layer below is a forward that records what its backward needs and a backward that
// reads it. Backwards accumulate (+=) into parameter gradients and overwrite input
// gradients unless documented otherwise. Rows are tokens: n rows of width d, contiguous.

// matmul computes C (m x n) = A (m x k) · op(B), where op(B) is B (k x n) or, with transB,
// Bᵀ for B stored n x k; accumulate adds into C. float32 goes through nn's GEMM kernel.
func matmul[F Float](m, n, k int, a, b []F, transB bool, c []F, accumulate bool) {
	if a32, ok := any(a).([]float32); ok {
		b32, c32 := any(b).([]float32), any(c).([]float32)
		rows, cols := k, n
		if transB {
			rows, cols = n, k
		}
		kernels.Gemm(m, n, k, a32, k, kernels.F32Mat(b32, rows, cols, cols), transB, c32, n, accumulate)
		return
	}
	kernels.ParallelFor(m, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			ci := c[i*n : (i+1)*n]
			if !accumulate {
				clear(ci)
			}
			ai := a[i*k : (i+1)*k]
			if transB {
				for j := range n {
					bj := b[j*k : (j+1)*k]
					var s F
					for p, v := range ai {
						s += v * bj[p]
					}
					ci[j] += s
				}
				continue
			}
			for p, v := range ai {
				bp := b[p*n : (p+1)*n]
				for j := range ci {
					ci[j] += v * bp[j]
				}
			}
		}
	})
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

// LinearForward computes y = x·Wᵀ + b for a torch Linear weight W (out x in); x is n x in, b
// may be nil.
func LinearForward[F Float](y, x, w, b []F, n, in, out int) {
	matmul(n, out, in, x, w, true, y, false)
	if b != nil {
		addBias(y[:n*out], b)
	}
}

// LinearBackward is LinearForward's backward: dx = dy·W (overwritten; skipped when dx is
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

// Conv1DForward computes y = x·W + b for a GPT-2 Conv1D weight W (in x out).
func Conv1DForward[F Float](y, x, w, b []F, n, in, out int) {
	matmul(n, out, in, x, w, false, y, false)
	if b != nil {
		addBias(y[:n*out], b)
	}
}

// Conv1DBackward is Conv1DForward's backward: dx = dy·Wᵀ, dW += xᵀ·dy, db += Σ rows of dy.
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

func addBias[F Float](y, b []F) {
	d := len(b)
	for i := 0; i+d <= len(y); i += d {
		row := y[i : i+d]
		for j := range row {
			row[j] += b[j]
		}
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

// EmbeddingForward gathers rows ids of table (vocab x d) into out.
func EmbeddingForward[F Float](out, table []F, ids []int32, d int) {
	for i, id := range ids {
		copy(out[i*d:(i+1)*d], table[int(id)*d:(int(id)+1)*d])
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

// LayerNormForward normalizes each row of x (n x d) to y = (x−μ)·rstd·w + b, as torch's
// LayerNorm (biased variance), and records μ and rstd per row.
func LayerNormForward[F Float](y, mean, rstd, x, w, b []F, n, d int, eps float64) {
	kernels.ParallelFor(n, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			xi, yi := x[i*d:(i+1)*d], y[i*d:(i+1)*d]
			var s float64
			for _, v := range xi {
				s += float64(v)
			}
			mu := s / float64(d)
			var ss float64
			for _, v := range xi {
				dv := float64(v) - mu
				ss += dv * dv
			}
			r := 1 / math.Sqrt(ss/float64(d)+eps)
			mean[i], rstd[i] = F(mu), F(r)
			for j, v := range xi {
				yi[j] = (v-F(mu))*F(r)*w[j] + b[j]
			}
		}
	})
}

// LayerNormBackward: dx = rstd·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)) with ĝ = dy·w, x̂ = (x−μ)·rstd;
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

// RMSNormForward computes y = x·rstd·w per row with rstd = 1/√(mean(x²)+eps), recording
// rstd, as Llama's RMSNorm.
func RMSNormForward[F Float](y, rstd, x, w []F, n, d int, eps float64) {
	kernels.ParallelFor(n, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			xi, yi := x[i*d:(i+1)*d], y[i*d:(i+1)*d]
			var ss float64
			for _, v := range xi {
				ss += float64(v) * float64(v)
			}
			r := F(1 / math.Sqrt(ss/float64(d)+eps))
			rstd[i] = r
			for j, v := range xi {
				yi[j] = w[j] * (v * r)
			}
		}
	})
}

// RMSNormBackward: dx = rstd·ĝ − x·rstd³·mean(ĝ·x) with ĝ = dy·w; dw += Σ dy·x·rstd. dx may
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

// GELUForward applies gelu_new, 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), from x into y.
func GELUForward[F Float](y, x []F) {
	if x32, ok := any(x).([]float32); ok { // nn's float32 tanh, as its forward uses
		y32 := any(y).([]float32)
		for i, v := range x32 {
			y32[i] = 0.5 * v * (1 + kernels.Tanh(geluC*(v+0.044715*v*v*v)))
		}
		return
	}
	for i, v := range x {
		u := float64(v)
		y[i] = F(0.5 * u * (1 + math.Tanh(geluC*(u+0.044715*u*u*u))))
	}
}

// GELUBackward sets dx = dy·gelu'(x). dx may alias dy.
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

// SwiGLUForward sets y = silu(gate)·up.
func SwiGLUForward[F Float](y, gate, up []F) {
	for i, g := range gate {
		s := 1 / (1 + math.Exp(-float64(g)))
		y[i] = F(float64(g)*s) * up[i]
	}
}

// SwiGLUBackward sets dGate = dy·up·silu'(gate) and dUp = dy·silu(gate).
func SwiGLUBackward[F Float](dGate, dUp, dy, gate, up []F) {
	for i, g := range gate {
		u := float64(g)
		s := 1 / (1 + math.Exp(-u))
		dUp[i] = dy[i] * F(u*s)
		dGate[i] = dy[i] * up[i] * F(s*(1+u*(1-s)))
	}
}

// RopeTables returns cos and sin of angle float32(pos)·invFreq for positions 0..n-1 (n x
// len(invFreq)), as nn's Llama forward computes them.
func RopeTables[F Float](invFreq []float32, n int) (cos, sin []F) {
	half := len(invFreq)
	cos, sin = make([]F, n*half), make([]F, n*half)
	for i := range n {
		for j, f := range invFreq {
			a := float64(float32(i) * f)
			cos[i*half+j] = F(math.Cos(a))
			sin[i*half+j] = F(math.Sin(a))
		}
	}
	return cos, sin
}

// RopeForward rotates, in place, each head (width hd) of each row of x (n rows of heads·hd)
// by the rotate-half convention: x1' = x1·cos − x2·sin, x2' = x2·cos + x1·sin. Row i uses
// position pos[i] of the tables.
func RopeForward[F Float](x, cos, sin []F, pos []int, heads, hd int) {
	rope(x, cos, sin, pos, heads, hd, 1)
}

// RopeBackward rotates gradients back (by the negative angle), in place.
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
