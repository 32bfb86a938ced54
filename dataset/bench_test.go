package dataset

import (
	"math/big"
	"net/http/httptest"
	"testing"

	"github.com/pretrain/pretrain/dataset/dataserver"
)

// BenchmarkLoadDemo measures one Falcon-style load of 3 pages (150 rows, ~75k GPT-2 ids) from a
// loopback dataserver: HTTP, JSON validation, fixture tokenization, packing and the cut.
func BenchmarkLoadDemo(b *testing.B) {
	rows := demoRows(b)
	tok := newFixtureTokenizer(b, rows)
	srv, err := dataserver.Open(writeDemoLayout(b, rows), dataserver.Options{TempDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	client, err := NewClient(ClientConfig{Endpoint: hs.URL})
	if err != nil {
		b.Fatal(err)
	}
	spec := Specs[0]
	spec.MaxPages = 100
	l := &Loader{Spec: spec, Source: client, Tokenizer: tok, SeqLen: 1024, BatchSize: 1, NumPages: 3}
	for b.Loop() {
		if _, _, err := l.EvalBatches(b.Context(), big.NewInt(1)); err != nil {
			b.Fatal(err)
		}
	}
}
