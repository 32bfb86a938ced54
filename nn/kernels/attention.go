package kernels

import "sync"

// Attention describes one causal multi-head attention: N query rows at absolute positions
// Pos0..Pos0+N-1 over T ≥ Pos0+N cached key/value rows. Q, K, V and Out are row-major with
// their strides; head h reads Q[:, h·HeadDim:], key/value head h/(Heads/KVHeads).
// The float32 attention runs on the GEMM kernel; float64 (the trainer's gradient-check
// mode) on plain loops.
type Attention[F Float] struct {
	N, T, Pos0     int
	Heads, KVHeads int
	HeadDim        int
	Scale          float64 // applied in F
	Window         int     // when > 0, row i sees keys j with i−j < Window only
	Q              []F
	QStride        int
	K, V           []F
	KVStride       int
	Out            []F
	OutStride      int
	// BF16 runs the float32 attention on bfloat16 operands with float32 sums and softmax,
	// as flash attention (flash.go); unset, it runs in float32 throughout.
	BF16 bool
}

// scorePool recycles score buffers (attnBlock x T floats) across heads and layers.
var scorePool = sync.Pool{New: func() any { return new([]float32) }}

// attnBlock is the number of query rows whose scores are held at once.
const attnBlock = 64

// Run computes Out = softmax(Q·Kᵀ·Scale + causal mask)·V per head, heads split over the
// workers.
func (a *Attention[F]) Run() {
	if a.N <= 0 {
		return
	}
	if a.KVHeads <= 0 || a.Heads%a.KVHeads != 0 || a.Pos0+a.N > a.T || a.HeadDim <= 0 {
		panic("kernels: bad attention shape")
	}
	switch a := any(a).(type) {
	case *Attention[float32]:
		if a.BF16 {
			attentionBF16(a)
		} else {
			attention32(a)
		}
	case *Attention[float64]:
		if a.BF16 {
			panic("kernels: bf16 attention in float64")
		}
		attention64(a)
	}
}

func attention32(a *Attention[float32]) {
	scale := float32(a.Scale)
	rep := a.Heads / a.KVHeads
	hd := a.HeadDim
	ParallelFor(a.Heads, func(lo, hi int) {
		buf := scorePool.Get().(*[]float32)
		defer scorePool.Put(buf)
		if need := min(attnBlock, a.N) * a.T; cap(*buf) < need {
			*buf = make([]float32, need)
		}
		scores := (*buf)[:cap(*buf)]
		for h := lo; h < hi; h++ {
			kvh := h / rep
			kh := Mat{DType: F32, Rows: a.T, Cols: hd, Stride: a.KVStride, F32: a.K[kvh*hd:]}
			for i0 := 0; i0 < a.N; i0 += attnBlock {
				rows := min(attnBlock, a.N-i0)
				// Keys after the block's last row are masked for every row of the block.
				kend := a.Pos0 + i0 + rows
				kstart := 0
				if a.Window > 0 {
					kstart = max(0, a.Pos0+i0-a.Window+1)
				}
				span := kend - kstart
				kb := kh
				kb.Rows = span
				kb.F32 = kh.F32[kstart*a.KVStride:]
				GemmSerial(rows, span, hd, a.Q[i0*a.QStride+h*hd:], a.QStride, kb, true, scores, span, false)
				for r := range rows {
					pos := a.Pos0 + i0 + r
					row := scores[r*span : (r+1)*span]
					lim := pos - kstart + 1 // keys kstart..pos are visible
					lo := 0
					if a.Window > 0 {
						lo = max(0, pos-a.Window+1) - kstart
					}
					for j := range lo {
						row[j] = 0
					}
					vis := row[lo:lim]
					for j := range vis {
						vis[j] *= scale
					}
					Softmax(vis)
					for j := lim; j < span; j++ {
						row[j] = 0
					}
				}
				vb := Mat{DType: F32, Rows: span, Cols: hd, Stride: a.KVStride, F32: a.V[kstart*a.KVStride+kvh*hd:]}
				GemmSerial(rows, hd, span, scores, span, vb, false, a.Out[i0*a.OutStride+h*hd:], a.OutStride, false)
			}
		}
	})
}
