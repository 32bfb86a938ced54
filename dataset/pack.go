package dataset

import (
	"context"
	"errors"
	"fmt"
	"math/big"

	"github.com/pretrain/pretrain/competition"
	"github.com/pretrain/pretrain/pyrand"
)

// Batch is one [batch_size, L] array of token ids.
type Batch [][]int32

// Pack cuts a loader's buffer into batches as SubsetLoader.__iter__/__next__ do: the buffer is
// split into documents at each EOS; packed mode (the default) joins them with one EOS each,
// unpacked mode pads each document with EOS to a multiple of seqLen; the stream is cut into
// consecutive seqLen windows, grouped batchSize at a time, and a partial window or partial
// batch at the end is dropped. The batches share buf's memory in packed mode.
func Pack(buf []int32, eos int32, batchSize, seqLen int, unpacked bool) ([]Batch, error) {
	if batchSize <= 0 || seqLen <= 0 {
		return nil, fmt.Errorf("pack: batch size %d and sequence length %d must be positive", batchSize, seqLen)
	}
	stream := buf
	if unpacked {
		stream = padDocuments(buf, eos, seqLen)
	}
	windows := len(stream) / seqLen
	batches := make([]Batch, 0, windows/batchSize)
	for w := 0; w+batchSize <= windows; w += batchSize {
		b := make(Batch, batchSize)
		for i := range b {
			start := (w + i) * seqLen
			b[i] = stream[start : start+seqLen : start+seqLen]
		}
		batches = append(batches, b)
	}
	return batches, nil
}

// padDocuments is _refill_padded_buffer with pack_samples=False: each document (up to its
// EOS) becomes doc + [eos] * ((L - len(doc) % L) % L); a document whose length is a multiple
// of L gets no EOS at all. A tail without EOS cannot occur (every row appends one); it is
// dropped, where the reference's buffer.index(eos) would raise.
func padDocuments(buf []int32, eos int32, seqLen int) []int32 {
	out := make([]int32, 0, len(buf))
	start := 0
	for i, t := range buf {
		if t != eos {
			continue
		}
		doc := buf[start:i]
		out = append(out, doc...)
		for range (seqLen - len(doc)%seqLen) % seqLen {
			out = append(out, eos)
		}
		start = i + 1
	}
	return out
}

// Select is the validator's cut (run_step in neurons/validator.py): random.Random(seed).shuffle
// over the batches, then the first limit. The input is not modified.
func Select(batches []Batch, seed *big.Int, limit int) []Batch {
	out := append([]Batch(nil), batches...)
	pyrand.New(seed).Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	if limit >= 0 && len(out) > limit {
		out = out[:limit]
	}
	return out
}

// ErrNoBatches is returned by EvalBatches when a loader yields no batch; the reference's
// validator raises ValueError and aborts the step.
var ErrNoBatches = errors.New("no batches")

// EvalBatches is the validator's data step for one task: Load, Pack, then Select the first
// competition.MaxBatchesPerDataset of the shuffle.
func (l *Loader) EvalBatches(ctx context.Context, seed *big.Int) ([]Batch, *Result, error) {
	res, err := l.Load(ctx, seed)
	if err != nil {
		return nil, nil, err
	}
	batches, err := Pack(res.Tokens, l.Tokenizer.EOS(), l.BatchSize, l.SeqLen, l.Unpacked)
	if err != nil {
		return nil, nil, fmt.Errorf("loader %s: %w", l.Spec.Name, err)
	}
	if len(batches) == 0 {
		return nil, res, fmt.Errorf("loader %s: %w", l.Spec.Name, ErrNoBatches)
	}
	return Select(batches, seed, competition.MaxBatchesPerDataset), res, nil
}
