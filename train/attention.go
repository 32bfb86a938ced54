package train

import (
	"math"

	"github.com/pretrain/pretrain/nn/kernels"
)

// Attention is the backward of causal multi-head attention with grouped-query heads over B
// independent rows of L tokens, as nn's forward runs it (kernels.Attention per row): token
// t = b·L+i reads Q[t·QStride + h·HeadDim ...], and query head h uses key/value head
// h/(Heads/KVHeads); Out = softmax(Q·Kᵀ·Scale + causal mask)·V per head. The forward does
// not keep the attention probabilities: Backward recomputes them, which costs one more
// Q·Kᵀ but keeps memory linear in L. float32 runs on GEMMs (attention_gemm.go); float64,
// the gradient-check mode, on the plain loops below.
type Attention[F Float] struct {
	B, L           int
	Heads, KVHeads int
	HeadDim        int
	Scale          float64
	Q              []F
	QStride        int
	K, V           []F
	KVStride       int
	OutStride      int // of dOut
}

// probs computes row i's softmax over keys 0..i of head h, kv head kh, in batch row b.
func (a *Attention[F]) probs(p []F, b, h, kh, i int) {
	hd := a.HeadDim
	q := a.Q[(b*a.L+i)*a.QStride+h*hd:][:hd]
	mx := math.Inf(-1)
	for j := 0; j <= i; j++ {
		k := a.K[(b*a.L+j)*a.KVStride+kh*hd:][:hd]
		var s F
		for c, v := range q {
			s += v * k[c]
		}
		sv := float64(s) * a.Scale
		p[j] = F(sv)
		mx = math.Max(mx, sv)
	}
	var sum float64
	for j := 0; j <= i; j++ {
		e := math.Exp(float64(p[j]) - mx)
		p[j] = F(e)
		sum += e
	}
	inv := 1 / sum
	for j := 0; j <= i; j++ {
		p[j] = F(float64(p[j]) * inv)
	}
}

// Backward computes the gradients of Q, K and V from dOut. dQ has Q's layout, dK and dV
// K's; the head columns they cover are overwritten (other columns are left alone, so GPT-2's
// fused q/k/v gradient can be one buffer).
func (a *Attention[F]) Backward(dQ, dK, dV, dOut []F) {
	if a32, ok := any(a).(*Attention[float32]); ok {
		backward32(a32, any(dQ).([]float32), any(dK).([]float32), any(dV).([]float32), any(dOut).([]float32))
		return
	}
	hd, group := a.HeadDim, a.Heads/a.KVHeads
	scale := F(a.Scale)
	kernels.ParallelFor(a.B*a.KVHeads, func(lo, hi int) {
		p := make([]F, a.L)
		dp := make([]F, a.L)
		for t := lo; t < hi; t++ {
			b, kh := t/a.KVHeads, t%a.KVHeads
			for j := range a.L {
				clear(dK[(b*a.L+j)*a.KVStride+kh*hd:][:hd])
				clear(dV[(b*a.L+j)*a.KVStride+kh*hd:][:hd])
			}
			for h := kh * group; h < (kh+1)*group; h++ {
				for i := range a.L {
					a.probs(p, b, h, kh, i)
					do := dOut[(b*a.L+i)*a.OutStride+h*hd:][:hd]
					var dot F
					for j := 0; j <= i; j++ {
						v := a.V[(b*a.L+j)*a.KVStride+kh*hd:][:hd]
						var s F
						for c, g := range do {
							s += g * v[c]
						}
						dp[j] = s
						dot += s * p[j]
					}
					q := a.Q[(b*a.L+i)*a.QStride+h*hd:][:hd]
					dq := dQ[(b*a.L+i)*a.QStride+h*hd:][:hd]
					clear(dq)
					for j := 0; j <= i; j++ {
						ds := p[j] * (dp[j] - dot) * scale
						k := a.K[(b*a.L+j)*a.KVStride+kh*hd:][:hd]
						dk := dK[(b*a.L+j)*a.KVStride+kh*hd:][:hd]
						dv := dV[(b*a.L+j)*a.KVStride+kh*hd:][:hd]
						pj := p[j]
						for c := range dq {
							dq[c] += ds * k[c]
							dk[c] += ds * q[c]
							dv[c] += pj * do[c]
						}
					}
				}
			}
		}
	})
}

// CrossEntropy computes, for each of the n rows of logits (n x vocab) with a target ≥ 0,
// the cross-entropy −log softmax(row)[target], and returns their sum. When dlogits is not
// nil it receives scale·(softmax(row) − onehot(target)) (zero for rows without a target);
// dlogits may alias logits.
func CrossEntropy[F Float](dlogits, logits []F, targets []int32, n, vocab int, scale float64) float64 {
	losses := make([]float64, n)
	kernels.ParallelFor(n, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			row := logits[r*vocab : (r+1)*vocab]
			tgt := int(targets[r])
			if tgt < 0 {
				if dlogits != nil {
					clear(dlogits[r*vocab : (r+1)*vocab])
				}
				continue
			}
			target := float64(row[tgt])
			var d []F
			if dlogits != nil {
				d = dlogits[r*vocab : (r+1)*vocab]
			}
			lse, sum := logSumExp(row, d)
			losses[r] = lse - target
			if d == nil {
				continue
			}
			// d holds exp(row − max); softmax = d/sum.
			k := F(scale / sum)
			for c := range d {
				d[c] *= k
			}
			d[tgt] -= F(scale)
		}
	})
	var s float64
	for _, l := range losses {
		s += l
	}
	return s
}

// logSumExp returns log Σ exp(x) and Σ exp(x − max x); when e is not nil it receives
// exp(x − max x) (e may alias x). float32 rows use nn's vectorized exponential.
func logSumExp[F Float](x, e []F) (lse, sum float64) {
	mx := x[0]
	for _, v := range x[1:] {
		if v > mx {
			mx = v
		}
	}
	if x32, ok := any(x).([]float32); ok {
		if e == nil {
			return kernels.LogSumExp(x32), 0
		}
		e32 := any(e).([]float32)
		copy(e32, x32)
		sum = kernels.ExpSum(e32, float32(mx))
		return float64(mx) + math.Log(sum), sum
	}
	for i, v := range x {
		ev := math.Exp(float64(v - mx))
		if e != nil {
			e[i] = F(ev)
		}
		sum += ev
	}
	return float64(mx) + math.Log(sum), sum
}
