package dataset

import (
	"strings"
	"testing"

	"github.com/pretrain/pretrain/competition"
)

// TestSources: half an AWS key pair is refused; Stack v2 needs the keys; a loader built from
// the sources carries their token state and the caller's shape.
func TestSources(t *testing.T) {
	if _, err := NewSources(SourcesConfig{AWSAccessKeyID: "id"}); err == nil {
		t.Error("an AWS key id without its secret was accepted")
	}
	s, err := NewSources(SourcesConfig{Endpoint: "http://127.0.0.1:1", HFToken: "hf_x", CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	stack, err := SpecByID(competition.DatasetStack2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Loader(stack, nil, 512, 1, 2); err == nil || !strings.Contains(err.Error(), "AWS") {
		t.Errorf("a Stack v2 loader without AWS keys: %v", err)
	}
	local, err := SpecByID(competition.DatasetLocal)
	if err != nil {
		t.Fatal(err)
	}
	l, err := s.Loader(local, nil, 512, 1, 4)
	if err != nil || !l.HFToken || l.SeqLen != 512 || l.NumPages != 4 || l.BatchSize != 1 {
		t.Errorf("loader %+v, %v", l, err)
	}
	if _, err := SpecByID(12345); err == nil {
		t.Error("an unknown dataset id found a loader")
	}
}
