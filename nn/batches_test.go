package nn

import (
	"context"
	"errors"
	"math"
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

func FuzzReadBatches(f *testing.F) {
	f.Add([]byte(`[[[1,2,3]],[[4,5,6],[7,8,9]]]`))
	f.Add([]byte(`[[[1],[2,3]]]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := ReadBatches(strings.NewReader(string(data)))
		if err != nil {
			return
		}
		for i, batch := range b {
			if len(batch) == 0 || len(batch[0]) == 0 {
				t.Fatalf("batch %d accepted empty", i)
			}
			for _, row := range batch {
				if len(row) != len(batch[0]) {
					t.Fatalf("batch %d accepted ragged", i)
				}
			}
		}
	})
}
