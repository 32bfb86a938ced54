package kernels

import (
	"math"
	"sync"
)

// The bf16 attention ([Attention.BF16]) is flash attention: per head, blocks of query rows
// walk the visible keys in tiles, keeping for each row a running maximum m, a running sum l
// of exponentials and an unnormalized output O, so that no more than one block's scores
// against one tile of keys exist at a time.
//
// Numerics: Q, K and V are rounded to bfloat16 as the bf16 GEMM rounds activations (nearest
// even, subnormals to zero); S = bf16(Q)·bf16(K)ᵀ is the bf16 GEMM (exact products, float32
// sums in the bf16 GEMM's order, bf16.go), then scaled in float32. Softmax is float32: for each tile,
// m' = max(m, max S), l' = l·exp(m−m') + Σ exp(S−m') (the tile's sum as [ExpSum] takes it),
// O' = O·exp(m−m') + bf16(P)·bf16(V) where P = exp(S−m') in float32 is rounded to bfloat16
// only as the operand of the second bf16 GEMM (l sums the unrounded values, as GPU flash
// attention kernels do). The result is O/l in float32.

// Tile shape of the bf16 attention: query rows per block (a multiple of mr, so the GEMM
// tiles are whole) and keys per tile (a multiple of nr, so a tile starts a packed panel).
const (
	flashRows = 96
	flashKeys = 256
)

// flashBufs is one worker's scratch: a head's packed keys (for S, keys as output columns)
// and values (for O, keys as the inner dimension), the block's scores, and each row's
// running max and sum.
type flashBufs struct {
	k, v PackedBF16
	s    []float32
	m, l [flashRows]float32
}

var flashPool = sync.Pool{New: func() any { return &flashBufs{s: make([]float32, flashRows*flashKeys)} }}

func attentionBF16(a *Attention[float32]) {
	rep, hd := a.Heads/a.KVHeads, a.HeadDim
	v := activeBF16()
	ParallelFor(a.Heads, func(lo, hi int) {
		b := flashPool.Get().(*flashBufs)
		defer flashPool.Put(b)
		for h := lo; h < hi; h++ {
			if kvh := h / rep; h == lo || kvh != (h-1)/rep { // heads sharing K and V pack them once
				b.k.pack(F32Mat(a.K[kvh*hd:], a.T, hd, a.KVStride), true, serialFor)
				b.v.pack(F32Mat(a.V[kvh*hd:], a.T, hd, a.KVStride), false, serialFor)
			}
			for i0 := 0; i0 < a.N; i0 += flashRows {
				flashBlock(a, v, b, h, i0, min(flashRows, a.N-i0))
			}
		}
	})
}

// flashBlock computes head h's output for query rows i0..i0+rows-1.
func flashBlock(a *Attention[float32], v *Variant, b *flashBufs, h, i0, rows int) {
	hd := a.HeadDim
	out := a.Out[i0*a.OutStride+h*hd:]
	q := prepareBF16A(rows, hd, a.Q[i0*a.QStride+h*hd:], a.QStride, serialFor)
	defer q.release()
	for r := range rows {
		clear(out[r*a.OutStride:][:hd])
		b.m[r], b.l[r] = float32(math.Inf(-1)), 0
	}
	scale := float32(a.Scale)
	first := a.Pos0 + i0 // the block's first and last positions
	last := first + rows - 1
	kstart := 0
	if a.Window > 0 {
		kstart = max(0, first-a.Window+1)
	}
	for j0 := kstart / flashKeys * flashKeys; j0 <= last; j0 += flashKeys {
		span := min(flashKeys, last+1-j0)
		keys := b.k.cols(j0)
		keys.n = span
		gemmBF16Serial(v, rows, span, q, keys, b.s, flashKeys, false)
		for r := range rows {
			pos := first + r
			row := b.s[r*flashKeys : r*flashKeys+span]
			lo, lim := 0, min(span, pos-j0+1) // this tile's keys j0+lo..j0+lim-1 are visible
			if a.Window > 0 {
				lo = max(0, pos-a.Window+1-j0)
			}
			if lo >= lim {
				clear(b.s[r*flashKeys : r*flashKeys+roundUp(span, 2)])
				continue
			}
			vis := row[lo:lim]
			mx := float32(math.Inf(-1))
			for j, x := range vis {
				x *= scale
				vis[j] = x
				if x > mx { // not max: it is several times slower, and a NaN reaches l through ExpSum
					mx = x
				}
			}
			mNew := max(b.m[r], mx)
			corr := Exp(b.m[r] - mNew)
			b.l[r] = b.l[r]*corr + float32(ExpSum(vis, mNew))
			b.m[r] = mNew
			if corr != 1 {
				o := out[r*a.OutStride:][:hd]
				for c := range o {
					o[c] *= corr
				}
			}
			roundBF16s(vis, vis)
			clear(row[:lo])
			clear(b.s[r*flashKeys+lim : r*flashKeys+roundUp(span, 2)]) // and an odd span's pad
		}
		// P, rounded in place. b.s holds flashRows rows, so a kernel may read whole
		// micro-tiles; rows past rows hold stale values, and their products are discarded.
		p := bf16A{k: span, lda: flashKeys, vals: b.s}
		gemmBF16Serial(v, rows, hd, p, b.v.rows(j0), out, a.OutStride, true)
	}
	for r := range rows {
		inv := 1 / b.l[r]
		o := out[r*a.OutStride:][:hd]
		for c := range o {
			o[c] *= inv
		}
	}
}
