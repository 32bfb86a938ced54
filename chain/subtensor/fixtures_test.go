package subtensor

import (
	"bytes"
	"compress/gzip"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Fixtures are real finney data copied from the project's captured chain data by
// testdata/extract_fixtures.py; testdata/README.md names each file's public origin.

func readGz(t testing.TB, name string) []byte {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return b
}

func loadJSON(t testing.TB, name string, v any) {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(readGz(t, name)))
	d.UseNumber()
	if err := d.Decode(v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.TrimPrefix(s, "0x"))
	if err != nil {
		t.Fatalf("hex %.20q: %v", s, err)
	}
	return b
}

var metaCache sync.Map

// metadataFixture parses (once per test binary) one of the captured metadata blobs.
func metadataFixture(t testing.TB, name string) *Metadata {
	t.Helper()
	if m, ok := metaCache.Load(name); ok {
		return m.(*Metadata)
	}
	m, err := ParseMetadata(readGz(t, name))
	if err != nil {
		t.Fatalf("ParseMetadata(%s): %v", name, err)
	}
	metaCache.Store(name, m)
	return m
}

const (
	spec343V14 = "metadata-spec343-v14.scale.gz"
	spec343V15 = "metadata-spec343-v15.scale.gz"
	spec318V15 = "metadata-spec318-v15.scale.gz"
)

// captures is the BT websocket capture: seed -> method -> JSON params -> response.
type captures map[string]map[string]map[string]json.RawMessage

var capturesCache struct {
	sync.Mutex
	c captures
}

// loadCaptures parses the capture file once per test binary; callers must not modify it.
func loadCaptures(t testing.TB) captures {
	t.Helper()
	capturesCache.Lock()
	defer capturesCache.Unlock()
	if capturesCache.c == nil {
		loadJSON(t, "captures.json.gz", &capturesCache.c)
	}
	return capturesCache.c
}

// result returns the hex "result" string of one captured call.
func (c captures) result(t testing.TB, seed, method, params string) []byte {
	t.Helper()
	raw, ok := c[seed][method][params]
	if !ok {
		t.Fatalf("capture %s %s %s missing", seed, method, params)
	}
	var r struct{ Result string }
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatal(err)
	}
	return unhex(t, r.Result)
}
