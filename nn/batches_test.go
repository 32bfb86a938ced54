package nn

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

func TestReadBatches(t *testing.T) {
	b, err := ReadBatches(strings.NewReader(`[[[1,2,3]],[[4,5,6],[7,8,9]]]`))
	if err != nil || len(b) != 2 || len(b[1]) != 2 || b[1][1][2] != 9 {
		t.Fatalf("ReadBatches() = %v, %v", b, err)
	}
	// `pretrain data batches` writes rows: each is a batch of one.
	b, err = ReadBatches(strings.NewReader(`[[1,2,3],[4,5,6]]`))
	if err != nil || len(b) != 2 || len(b[0]) != 1 || b[1][0][2] != 6 {
		t.Fatalf("ReadBatches(rows) = %v, %v", b, err)
	}
	for _, bad := range []string{`[[[1,2],[3]]]`, `[[]]`, `{"a":1}`, `[[[1.5]]]`, `[[["x"]]]`, `[[1.5]]`, `[1,2]`} {
		if _, err := ReadBatches(strings.NewReader(bad)); err == nil {
			t.Errorf("ReadBatches(%s) accepted", bad)
		}
	}
}

func TestEvaluateMatchesTorch(t *testing.T) {
	m, err := Load("testdata/models/llama-gqa-f32")
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	e := loadExpected(t, "testdata/models/llama-gqa-f32")
	batches := e.Batches[1:] // L = 1 has no targets
	rep, err := m.Evaluate(t.Context(), batches, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	var want float64
	for _, l := range e.Losses[1:] {
		want += l.(float64)
	}
	want /= float64(len(batches))
	if math.Abs(rep.MeanLoss-want)/want > 1e-4 || rep.Batches != len(batches) || rep.Reasonable == nil {
		t.Errorf("Evaluate() = %+v, want mean loss %v", rep, want)
	}
}

func TestLossStopsOnCancel(t *testing.T) {
	m, err := Load("testdata/models/gpt2-f32")
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := m.Loss(ctx, [][]int32{{1, 2, 3}}); !errors.Is(err, context.Canceled) {
		t.Errorf("Loss on a cancelled context: error = %v, want context.Canceled", err)
	}
}

// FuzzReadBatches compares the streaming parser with encoding/json: what it accepts,
// encoding/json reads as the same batches (or rows); what encoding/json reads as well-formed
// batches of ids, it accepts, except for the nulls encoding/json turns into 0.
func FuzzReadBatches(f *testing.F) {
	f.Add([]byte(`[[[1,2,3]],[[4,5,6],[7,8,9]]]`))
	f.Add([]byte(`[[[1],[2,3]]]`))
	f.Add([]byte(` [ [ -0 , 2147483647 ,-2147483648] ] `))
	f.Add([]byte(`[[1,null]]`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := ReadBatches(bytes.NewReader(data))
		want, jsonErr := jsonBatches(data)
		if err == nil && (jsonErr != nil || !reflect.DeepEqual(got, want)) {
			t.Fatalf("ReadBatches(%q) = %v, encoding/json %v, %v", data, got, want, jsonErr)
		}
		if err != nil && jsonErr == nil && !bytes.Contains(data, []byte("null")) {
			t.Fatalf("ReadBatches(%q) refused (%v); encoding/json reads %v", data, err, want)
		}
	})
}

// jsonBatches reads data as ReadBatches documents it, with encoding/json: batches or rows,
// at least one batch, no empty batch or row, rows of a batch of equal length.
func jsonBatches(data []byte) ([][][]int32, error) {
	var batches [][][]int32
	if err := json.Unmarshal(data, &batches); err != nil {
		var rows [][]int32
		if err := json.Unmarshal(data, &rows); err != nil {
			return nil, err
		}
		batches = make([][][]int32, len(rows))
		for i, r := range rows {
			batches[i] = [][]int32{r}
		}
	}
	if len(batches) == 0 {
		return nil, errors.New("no batches")
	}
	for _, b := range batches {
		if len(b) == 0 {
			return nil, errors.New("empty batch")
		}
		for _, r := range b {
			if len(r) == 0 || len(r) != len(b[0]) {
				return nil, errors.New("empty or ragged row")
			}
		}
	}
	return batches, nil
}

// endless is "[[1,1,1,…" for ever.
type endless struct{ started bool }

func (e *endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = "1,"[i%2]
	}
	if !e.started && len(p) >= 2 {
		e.started = true
		copy(p, "[[")
	}
	return len(p), nil
}

// TestReadBatchesBounded: the token bound is checked while parsing, so an endless row is
// refused after the bound's ids, having allocated about their size, not the file's (a 96 MB
// file took 2 GB when the bound was checked after parsing it whole).
func TestReadBatchesBounded(t *testing.T) {
	const bound = 1 << 20
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	p := &batchParser{r: bufio.NewReader(&endless{}), maxTokens: bound}
	_, err := p.file()
	runtime.ReadMemStats(&after)
	if err == nil || !strings.Contains(err.Error(), "more than") {
		t.Fatalf("ReadBatches(endless row) error = %v, want the token bound", err)
	}
	// A row grows by doubling: about 2 x 4 bytes a token in all (more under -race); the
	// endless input itself is never held.
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 32*bound {
		t.Errorf("parsing allocated %d bytes before refusing %d tokens", alloc, bound)
	}
	for _, in := range []string{`null`, `[]`, ``, ` `, `[[1,2]] x`, `[[01]]`, `[[1e2]]`, `[[2147483648]]`, `[[1,]]`} {
		if b, err := ReadBatches(strings.NewReader(in)); err == nil {
			t.Errorf("ReadBatches(%q) = %v, want an error", in, b)
		}
	}
}
