package train

import (
	"github.com/pretrain/pretrain/nn/kernels"
)

// The float32 attention backward runs each (row, head) as GEMMs on nn's kernel: S = Q·Kᵀ,
// P = causal softmax(S·scale) recomputed, then dP = dO·Vᵀ, dS = P ⊙ (dP − rowsum(P ⊙
// dP)), dQ = dS·K, dK += dSᵀ·Q, dV += Pᵀ·dO. The masked upper triangle is computed and
// discarded (twice the scalar loop's multiply-adds), which the GEMM's speed repays many
// times over. Work is split over (row, kv head), so no two workers write the same gradient.

func mat32(data []float32, rows, cols, stride int) kernels.Mat {
	return kernels.Mat{DType: kernels.F32, Rows: rows, Cols: cols, Stride: stride, F32: data}
}

// softmaxCausal turns the L x L scores s into causal attention probabilities in place.
func softmaxCausal(s []float32, L int, scale float32) {
	for i := range L {
		row := s[i*L : (i+1)*L]
		mx := row[0] * scale
		for j := 0; j <= i; j++ {
			row[j] *= scale
			mx = max(mx, row[j])
		}
		sum := kernels.ExpSum(row[:i+1], mx)
		inv := float32(1 / sum)
		for j := 0; j <= i; j++ {
			row[j] *= inv
		}
		clear(row[i+1:])
	}
}

// probs32 computes P for head h (kv head kh) of batch row b into p (L x L).
func probs32(a *Attention[float32], p []float32, b, h, kh int) {
	L, hd := a.L, a.HeadDim
	q := a.Q[b*L*a.QStride+h*hd:]
	k := a.K[b*L*a.KVStride+kh*hd:]
	kernels.GemmSerial(L, L, hd, q, a.QStride, mat32(k, L, hd, a.KVStride), true, p, L, false)
	softmaxCausal(p, L, float32(a.Scale))
}

func backward32(a *Attention[float32], dQ, dK, dV, dOut []float32) {
	L, hd, group := a.L, a.HeadDim, a.Heads/a.KVHeads
	kernels.ParallelFor(a.B*a.KVHeads, func(lo, hi int) {
		p := make([]float32, L*L)
		dp := make([]float32, L*L)
		tr := make([]float32, hd*L)
		small := make([]float32, hd*L)
		for t := lo; t < hi; t++ {
			b, kh := t/a.KVHeads, t%a.KVHeads
			kOff, base := b*L*a.KVStride+kh*hd, b*L
			for j := range L {
				clear(dK[(base+j)*a.KVStride+kh*hd:][:hd])
				clear(dV[(base+j)*a.KVStride+kh*hd:][:hd])
			}
			for h := kh * group; h < (kh+1)*group; h++ {
				qOff, oOff := b*L*a.QStride+h*hd, b*L*a.OutStride+h*hd // row b, head h
				probs32(a, p, b, h, kh)
				do := dOut[oOff:]
				// dV += Pᵀ·dO, computed as (dOᵀ·P)ᵀ so only L x hd matrices are transposed.
				gather(small, do, L, hd, a.OutStride)
				kernels.GemmSerial(hd, L, L, small, L, mat32(p, L, L, L), false, tr, L, false)
				scatterAddT(dV[kOff:], tr, L, hd, a.KVStride)
				// dP = dO·Vᵀ
				kernels.GemmSerial(L, L, hd, do, a.OutStride, mat32(a.V[kOff:], L, hd, a.KVStride), true, dp, L, false)
				scale := float32(a.Scale)
				for i := range L {
					pr, dr := p[i*L:(i+1)*L], dp[i*L:(i+1)*L]
					var dot float32
					for j := 0; j <= i; j++ {
						dot += pr[j] * dr[j]
					}
					for j := 0; j <= i; j++ {
						dr[j] = pr[j] * (dr[j] - dot) * scale
					}
					clear(dr[i+1:])
				}
				// dQ = dS·K
				kernels.GemmSerial(L, hd, L, dp, L, mat32(a.K[kOff:], L, hd, a.KVStride), false, dQ[qOff:], a.QStride, false)
				// dK += dSᵀ·Q, as (Qᵀ·dS)ᵀ.
				gather(small, a.Q[qOff:], L, hd, a.QStride)
				kernels.GemmSerial(hd, L, L, small, L, mat32(dp, L, L, L), false, tr, L, false)
				scatterAddT(dK[kOff:], tr, L, hd, a.KVStride)
			}
		}
	})
}

// gather writes the transpose of the rows x cols matrix x (row stride stride) into dst
// (cols x rows).
func gather(dst, x []float32, rows, cols, stride int) {
	for i := range rows {
		for j, v := range x[i*stride : i*stride+cols] {
			dst[j*rows+i] = v
		}
	}
}

// scatterAddT adds the transpose of t (cols x rows) into the rows x cols matrix dst (row
// stride stride).
func scatterAddT(dst, t []float32, rows, cols, stride int) {
	for i := range rows {
		d := dst[i*stride : i*stride+cols]
		for j := range d {
			d[j] += t[j*rows+i]
		}
	}
}
