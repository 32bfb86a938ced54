package dataset

import (
	"bufio"
	"compress/gzip"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/pretrain/pretrain/dataset/pycodec"
)

// TestDecodeTextCPythonVectors checks DecodeText against CPython 3.11's bytes.decode(name)
// (strict) on testdata/decode_vectors.jsonl.gz (gen_decode_vectors.py): every name CPython
// accepts gives the same text, and every input CPython rejects fails. Codecs pycodec does not
// reproduce must fail with pycodec.ErrUnsupported, never decode.
func TestDecodeTextCPythonVectors(t *testing.T) {
	f, err := os.Open("testdata/decode_vectors.jsonl.gz")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(zr)
	var n, unsupported, failures int
	for line := 1; sc.Scan(); line++ {
		var v struct {
			Enc, Hex string
			Out      *string
			Err      string
		}
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatalf("line %d: %v", line, err)
		}
		data, err := hex.DecodeString(v.Hex)
		if err != nil {
			t.Fatalf("line %d: %v", line, err)
		}
		n++
		got, err := DecodeText(data, v.Enc)
		switch {
		case errors.Is(err, pycodec.ErrUnsupported):
			unsupported++
			if codec, _ := pycodec.Lookup(v.Enc); !documentedUnsupported[codec] {
				t.Errorf("line %d: DecodeText(%x, %q): %v; codec %s is not documented as unsupported", line, data, v.Enc, err, codec)
			}
			continue
		case errors.Is(err, pycodec.ErrLoneSurrogate) && v.Out != nil && strings.ContainsRune(*v.Out, utf8.RuneError):
			continue // CPython's str holds a lone surrogate (JSON-decoded here as U+FFFD)
		case v.Out == nil && err == nil:
			t.Errorf("line %d: DecodeText(%x, %q) = %q, want error (CPython: %s)", line, data, v.Enc, got, v.Err)
		case v.Out != nil && (err != nil || got != *v.Out):
			t.Errorf("line %d: DecodeText(%x, %q) = %q, %v; want %q", line, data, v.Enc, got, err, *v.Out)
		default:
			continue
		}
		if failures++; failures > 40 {
			t.Fatal("too many failures")
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if n < 10000 || unsupported > n/5 {
		t.Errorf("%d vectors, %d unsupported", n, unsupported)
	}
}

// documentedUnsupported are the codecs the pycodec package doc lists as not reproduced.
var documentedUnsupported = map[string]bool{
	"hz": true, "idna": true, "punycode": true, "unicode_escape": true, "raw_unicode_escape": true,
	"iso2022_jp": true, "iso2022_jp_1": true, "iso2022_jp_2": true, "iso2022_jp_2004": true,
	"iso2022_jp_3": true, "iso2022_jp_ext": true, "iso2022_kr": true,
}
