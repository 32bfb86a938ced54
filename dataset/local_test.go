package dataset

import (
	"errors"
	"math/big"
	"net/http/httptest"
	"testing"

	"github.com/pretrain/pretrain/dataset/dataserver"
)

// TestLocalSpec: the local competition's loader samples the demo corpus FineWeb-style from the
// server's reported size and reads the RefinedWeb-format "content" field, which the FineWeb
// loaders must not.
func TestLocalSpec(t *testing.T) {
	rows := demoRows(t)
	tok := newFixtureTokenizer(t, rows)
	srv, err := dataserver.Open(writeDemoLayout(t, rows), dataserver.Options{TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	client, err := NewClient(ClientConfig{Endpoint: hs.URL})
	if err != nil {
		t.Fatal(err)
	}
	spec, err := SpecByName("local")
	if err != nil {
		t.Fatal(err)
	}
	l := &Loader{Spec: spec, Source: client, Tokenizer: tok, SeqLen: 512, BatchSize: 1, NumPages: 2}
	batches, _, err := l.EvalBatches(t.Context(), big.NewInt(5))
	if err != nil {
		t.Fatal(err)
	}
	if len(batches) == 0 || len(batches[0]) != 1 || len(batches[0][0]) != 512 {
		t.Fatalf("got %d batches", len(batches))
	}
	// The same rows under a FineWeb name lack "text": the loader must refuse them.
	fw := spec
	fw.TextOnly = true
	l.Spec = fw
	if _, _, err := l.EvalBatches(t.Context(), big.NewInt(5)); !errors.Is(err, ErrInvalidResponse) {
		t.Errorf("text-only loader on content rows: error %v, want ErrInvalidResponse", err)
	}
}
