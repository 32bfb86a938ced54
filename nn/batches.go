package nn

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/pretrain/pretrain/internal/bounded"
)

// Bounds on a token-batch file (JSON), far above one SN9 task (50 batches of 1 x 4096):
// 16 Mi tokens, 64 MiB of ids once read.
const (
	maxBatchFileBytes = 1 << 30
	maxBatchTokens    = 1 << 24
)

// ReadBatches parses a JSON array of batches, each a [B][L] array of token ids with equal
// row lengths, as compute_text_loss receives them. A JSON array of token arrays (what
// `pretrain data batches` writes) is read as batches of one row, SN9's batch size.
//
// The file is parsed as it streams in, and the token bound is checked at each id, so a
// hostile file costs at most the ids it may hold (4 bytes each), never a parse tree of the
// whole file. Ids are JSON integers in int32's range; null, fractions and exponents are
// refused, as is a file without a batch.
func ReadBatches(r io.Reader) ([][][]int32, error) {
	p := &batchParser{r: bufio.NewReaderSize(io.LimitReader(r, maxBatchFileBytes+1), 64<<10), maxTokens: maxBatchTokens}
	batches, err := p.file()
	if err != nil {
		if p.n > maxBatchFileBytes {
			err = fmt.Errorf("%w: more than %d bytes", bounded.ErrTooLarge, maxBatchFileBytes)
		}
		return nil, fmt.Errorf("read batches: %w", err)
	}
	for i, b := range batches {
		for j, row := range b {
			if len(row) != len(b[0]) {
				return nil, fmt.Errorf("read batches: batch %d row %d has %d tokens, row 0 has %d", i, j, len(row), len(b[0]))
			}
		}
	}
	return batches, nil
}

// batchParser reads the two shapes ReadBatches accepts, one byte at a time.
type batchParser struct {
	r         *bufio.Reader
	n         int64 // bytes read
	tokens    int
	maxTokens int
}

func (p *batchParser) next() (byte, error) {
	c, err := p.r.ReadByte()
	if err == io.EOF {
		return 0, io.ErrUnexpectedEOF
	}
	p.n++
	return c, err
}

// peek returns the next byte that is not JSON whitespace, without consuming it.
func (p *batchParser) peek() (byte, error) {
	for {
		c, err := p.next()
		if err != nil {
			return 0, err
		}
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		}
		p.n--
		return c, p.r.UnreadByte()
	}
}

func (p *batchParser) expect(want byte) error {
	c, err := p.peek()
	if err != nil {
		return err
	}
	if c != want {
		return fmt.Errorf("byte %d: want %q, got %q", p.n, want, c)
	}
	_, err = p.next()
	return err
}

// array parses '[' elem (',' elem)* ']' or '[]', calling elem for each element.
func (p *batchParser) array(elem func() error) error {
	if err := p.expect('['); err != nil {
		return err
	}
	return p.items(elem)
}

// items is array after its '['.
func (p *batchParser) items(elem func() error) error {
	if c, err := p.peek(); err != nil {
		return err
	} else if c == ']' {
		_, err := p.next()
		return err
	}
	for {
		if err := elem(); err != nil {
			return err
		}
		c, err := p.peek()
		if err != nil {
			return err
		}
		if c == ']' {
			_, err := p.next()
			return err
		}
		if err := p.expect(','); err != nil {
			return err
		}
	}
}

// row parses a non-empty array of token ids.
func (p *batchParser) row() ([]int32, error) {
	if err := p.expect('['); err != nil {
		return nil, err
	}
	return p.rowItems()
}

// rowItems is row after its '['.
func (p *batchParser) rowItems() ([]int32, error) {
	var ids []int32
	err := p.items(func() error {
		if p.tokens++; p.tokens > p.maxTokens {
			return fmt.Errorf("more than %d tokens", p.maxTokens)
		}
		id, err := p.id()
		if len(ids) == cap(ids) {
			// Doubling: append's 1.25x growth of a long row would allocate 5 times its size.
			ids = slices.Grow(ids, len(ids))
		}
		ids = append(ids, id)
		return err
	})
	if err == nil && len(ids) == 0 {
		err = fmt.Errorf("byte %d: empty row", p.n)
	}
	return ids, err
}

// id parses a JSON integer in int32's range.
func (p *batchParser) id() (int32, error) {
	if _, err := p.peek(); err != nil {
		return 0, err
	}
	start := p.n
	neg, digits, leadingZero := false, 0, false
	var v int64
	for {
		c, err := p.r.ReadByte()
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, err
		}
		if c == '-' && p.n == start {
			neg = true
			p.n++
			continue
		}
		if c < '0' || c > '9' {
			if err := p.r.UnreadByte(); err != nil {
				return 0, err
			}
			break
		}
		p.n++
		leadingZero = leadingZero || digits == 1 && v == 0 // JSON has no 007
		digits++
		if v = v*10 + int64(c-'0'); v > 1<<31 {
			break
		}
	}
	if digits == 0 || leadingZero || v > 1<<31 || !neg && v == 1<<31 {
		return 0, fmt.Errorf("byte %d: token id: want a JSON integer in int32's range", start)
	}
	if neg {
		v = -v
	}
	return int32(v), nil
}

// file parses the whole input: batches ([[[ids]]]) or rows ([[ids]]), then only whitespace.
// The first element decides the shape.
func (p *batchParser) file() ([][][]int32, error) {
	var batches [][][]int32
	rowsShape, first := false, true
	batch := func(items bool) error {
		var rows [][]int32
		parse := p.array
		if items {
			parse = p.items
		}
		err := parse(func() error {
			row, err := p.row()
			rows = append(rows, row)
			return err
		})
		if err == nil && len(rows) == 0 {
			err = fmt.Errorf("batch %d is empty", len(batches))
		}
		batches = append(batches, rows)
		return err
	}
	err := p.array(func() error {
		if !first {
			if rowsShape {
				row, err := p.row()
				batches = append(batches, [][]int32{row})
				return err
			}
			return batch(false)
		}
		first = false
		if err := p.expect('['); err != nil {
			return err
		}
		c, err := p.peek()
		if err != nil {
			return err
		}
		if rowsShape = c != '['; rowsShape {
			row, err := p.rowItems()
			batches = append(batches, [][]int32{row})
			return err
		}
		return batch(true)
	})
	if err != nil {
		return nil, err
	}
	if len(batches) == 0 {
		return nil, errors.New("no batches")
	}
	if c, err := p.peek(); err != io.ErrUnexpectedEOF {
		return nil, fmt.Errorf("byte %d: %q after the array", p.n, c)
	}
	return batches, nil
}

// EvalReport is the result of evaluating a model on token batches.
type EvalReport struct {
	Losses          []float64 `json:"losses"`
	MeanLoss        float64   `json:"mean_loss"`
	Batches         int       `json:"batches"`
	Tokens          int       `json:"tokens"`
	Seconds         float64   `json:"seconds"`
	TokensPerSecond float64   `json:"tokens_per_second"`
	Precision       string    `json:"precision"` // of the weight GEMMs: fp32 or bf16
	// Reasonable and Reason are the sanity check's verdict when it was run.
	Reasonable *bool  `json:"reasonable,omitempty"`
	Reason     string `json:"reason,omitempty"`
}

// Evaluate computes the loss of every batch and their mean (compute_text_loss's score,
// without the sanity check unless check is set and there are two batches). progress, when
// not nil, is called after each batch.
func (m *Model) Evaluate(ctx context.Context, batches [][][]int32, check bool, progress func(done, total int)) (*EvalReport, error) {
	rep := &EvalReport{Batches: len(batches), Losses: make([]float64, 0, len(batches)), Precision: m.precision.String()}
	start := time.Now()
	if check && len(batches) >= 2 {
		ok, reason, err := m.CheckReasonableOutput(ctx, batches[0], batches[1])
		if err != nil {
			return nil, err
		}
		rep.Reasonable, rep.Reason = &ok, reason
	}
	for i, b := range batches {
		l, err := m.Loss(ctx, b)
		if err != nil {
			return nil, fmt.Errorf("batch %d: %w", i, err)
		}
		rep.Losses = append(rep.Losses, l)
		rep.Tokens += len(b) * len(b[0])
		if progress != nil {
			progress(i+1, len(batches))
		}
	}
	rep.MeanLoss = MeanLoss(rep.Losses)
	rep.Seconds = time.Since(start).Seconds()
	if rep.Seconds > 0 {
		rep.TokensPerSecond = float64(rep.Tokens) / rep.Seconds
	}
	return rep, nil
}
