package nn

import (
	"context"
	"fmt"
	"math"

	"github.com/pretrain/pretrain/nn/kernels"
)

// Loss is compute_text_loss for one batch (pretrain/eval/method.py): batch holds B rows of L
// token ids; for every row the logits of positions 0..L-2 are scored against the tokens at
// 1..L-1, and the result is the mean cross-entropy over all B·(L-1) positions, with no mask
// and no ignore index. Log-softmax is stable (max subtracted) with float32 logits and
// float64 sums.
//
// A NaN result (NaN weights, or L = 1, where torch's mean over no targets is NaN) is
// reported as +Inf, the loss of a failed model. Token ids outside the vocabulary and rows of
// different lengths are errors, as they raise in the reference.
func (m *Model) Loss(ctx context.Context, batch [][]int32) (float64, error) {
	if len(batch) == 0 {
		return 0, fmt.Errorf("loss: empty batch")
	}
	L := len(batch[0])
	for i, row := range batch {
		if len(row) != L || L == 0 {
			return 0, fmt.Errorf("loss: row %d has %d tokens, row 0 has %d", i, len(row), L)
		}
	}
	var sum float64
	for _, row := range batch {
		s, err := m.rowLoss(ctx, row)
		if err != nil {
			return 0, fmt.Errorf("loss: %w", err)
		}
		sum += s
	}
	loss := sum / float64(len(batch)*(L-1))
	if math.IsNaN(loss) {
		return math.Inf(1), nil
	}
	return loss, nil
}

// vocabBlock is how many vocabulary columns of logits are held at once: the loss streams
// over the output embedding in blocks, so each block of it is packed once per row and the
// logits never exist whole (4096 x 150k floats would be 2.4 GB).
const vocabBlock = 2048

// rowLoss returns the summed cross-entropy of one row's L-1 next-token predictions, with a
// running (online) log-sum-exp per position across vocabulary blocks.
func (m *Model) rowLoss(ctx context.Context, ids []int32) (float64, error) {
	d := m.Config.Hidden
	hidden := make([]float32, len(ids)*d)
	if err := m.net.forward(ctx, ids, 1, nil, hidden, nil); err != nil {
		return 0, err
	}
	head := m.net.head()
	V := head.Rows
	n := len(ids) - 1
	if n == 0 {
		return math.NaN(), nil // torch's mean over no targets
	}
	runMax := make([]float64, n)
	runSum := make([]float64, n)
	target := make([]float64, n)
	for i := range runMax {
		runMax[i] = math.Inf(-1)
	}
	vb := min(vocabBlock, V)
	logits := make([]float32, n*vb)
	for v0 := 0; v0 < V; v0 += vb {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		w := min(vb, V-v0)
		kernels.Gemm(n, w, d, hidden, d, head.RowRange(v0, v0+w), true, logits, w, false)
		kernels.ParallelFor(n, func(lo, hi int) {
			for r := lo; r < hi; r++ {
				row := logits[r*w : (r+1)*w]
				if t := int(ids[r+1]) - v0; t >= 0 && t < w {
					target[r] = float64(row[t])
				}
				runMax[r], runSum[r] = kernels.OnlineLogSumExp(row, runMax[r], runSum[r])
			}
		})
	}
	var sum float64
	for r := range n {
		sum += runMax[r] + math.Log(runSum[r]) - target[r]
	}
	return sum, nil
}

// Logits returns the logits of every position of ids (len(ids) x vocab), for tests and
// tools; the loss path never holds them all.
func (m *Model) Logits(ctx context.Context, ids []int32) ([]float32, error) {
	d := m.Config.Hidden
	hidden := make([]float32, len(ids)*d)
	if err := m.net.forward(ctx, ids, 1, nil, hidden, nil); err != nil {
		return nil, err
	}
	head := m.net.head()
	out := make([]float32, len(ids)*head.Rows)
	kernels.Gemm(len(ids), head.Rows, d, hidden, d, head, true, out, head.Rows, false)
	return out, nil
}

// MeanLoss is the task score of compute_text_loss: the arithmetic mean of per-batch
// losses (+Inf when there are none).
func MeanLoss(losses []float64) float64 {
	if len(losses) == 0 {
		return math.Inf(1)
	}
	var s float64
	for _, l := range losses {
		s += l
	}
	return s / float64(len(losses))
}
