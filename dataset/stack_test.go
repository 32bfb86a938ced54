package dataset

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pretrain/pretrain/dataset/pycodec"
)

func gz(t testing.TB, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func blobID(i int) string { return fmt.Sprintf("%040x", i) }

func TestSoftwareHeritageBlob(t *testing.T) {
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			t.Error("blob request carries Authorization; the reference's is anonymous")
		}
		switch r.URL.Path {
		case "/content/" + blobID(1):
			w.Write(gz(t, []byte("package main\n")))
		case "/content/" + blobID(2):
			io.WriteString(w, "not gzip")
		case "/content/" + blobID(3):
			w.Write(gz(t, bytes.Repeat([]byte("a"), 2<<20)))
		default:
			http.NotFound(w, r)
		}
	}))
	defer hs.Close()
	if _, err := NewSoftwareHeritage(SoftwareHeritageConfig{BaseURL: hs.URL}); err == nil {
		t.Error("no AWS credentials: want error, as the reference's os.environ lookup fails")
	}
	sh, err := NewSoftwareHeritage(SoftwareHeritageConfig{BaseURL: hs.URL, AccessKeyID: "AKID", SecretAccessKey: "s", MaxBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if b, err := sh.Blob(ctx, blobID(1)); err != nil || string(b) != "package main\n" {
		t.Errorf("Blob = %q, %v", b, err)
	}
	for _, c := range []struct {
		id        string
		retryable bool
	}{{blobID(2), false}, {blobID(3), false}, {blobID(4), true}, {"../../etc/passwd", false}, {strings.ToUpper(blobID(0xabc)), false}} {
		_, err := sh.Blob(ctx, c.id)
		if err == nil || Retryable(err) != c.retryable {
			t.Errorf("Blob(%q) = %v, want error with retryable %v", c.id, err, c.retryable)
		}
	}
}

// TestDecodeText: the cases the reviewer named, with CPython 3.11's results (bytes.decode,
// strict); TestDecodeTextCPythonVectors covers every codec.
func TestDecodeText(t *testing.T) {
	tests := []struct {
		data []byte
		enc  string
		want string
		err  error // nil: any error when want is ""
	}{
		{[]byte("héllo"), "UTF-8", "héllo", nil},
		{[]byte("\xef\xbb\xbfx"), "utf-8", "\ufeffx", nil}, // Python's utf-8 keeps a BOM
		{[]byte("\xef\xbb\xbfx"), "utf-8-sig", "x", nil},
		{[]byte{0xff, 'a'}, "UTF-8", "", nil},
		{[]byte{0x82, 0xa0, '\\'}, "Shift_JIS", "あ\\", nil},
		{[]byte{0x87, 0x40}, "Shift_JIS", "", nil}, // NEC row 13: cp932 only
		{[]byte{0x87, 0x40}, "CP932", "①", nil},
		{[]byte{0xb0, 0xa1}, "GB2312", "啊", nil},
		{[]byte{0x81, 0x30, 0x81, 0x30}, "GB18030", "\u0080", nil},
		{[]byte{0xff, 0xfe, 0, 0, 'a', 0, 0, 0}, "UTF-32", "a", nil},
		{[]byte{'a', 0}, "UTF-16", "a", nil}, // no BOM: little-endian
		{[]byte{0xfe, 0xff, 0, 'a'}, "UTF-16", "a", nil},
		{[]byte{0x80}, "cp1252", "€", nil},
		{[]byte{0x81}, "windows-1252", "", nil}, // undefined in CPython's cp1252
		{[]byte{0xe9}, "latin-1", "é", nil},
		{[]byte{0x81, 0x41}, "CP949", "갂", nil},
		{[]byte{0xa1}, "TIS-620", "ก", nil},
		{[]byte{0x80}, "MacRoman", "Ä", nil},
		{[]byte{0x88, 0x62}, "BIG5-HKSCS", "Ê̄", nil},
		{[]byte("+AOk-"), "UTF-7", "é", nil},
		{[]byte{0x80}, "ascii", "", nil},
		{[]byte("x"), "no-such-codec", "", pycodec.ErrUnknownEncoding},
		{[]byte("x"), "base64", "", pycodec.ErrUnknownEncoding},               // not a text encoding
		{[]byte("\x1b$B0!\x1b(B"), "ISO-2022-JP", "", pycodec.ErrUnsupported}, // CPython: "亜"
		{nil, "no-such-codec", "", nil},                                       // b"".decode(anything) is ""
	}
	for _, tt := range tests {
		got, err := DecodeText(tt.data, tt.enc)
		wantErr := tt.want == "" && len(tt.data) > 0
		if (err != nil) != wantErr || got != tt.want || tt.err != nil && !errors.Is(err, tt.err) {
			t.Errorf("DecodeText(%q, %s) = %q, %v; want %q, error %v (%v)", tt.data, tt.enc, got, err, tt.want, wantErr, tt.err)
		}
	}
}

// Stack v2 rows: contents come from blobs; a transient blob failure mid-page retries the whole
// page and the rows fetched before the failure stay in the buffer (reference behaviour).
func TestStackV2PartialPageRetry(t *testing.T) {
	var blobCalls atomic.Int64
	failed := atomic.Bool{}
	blobs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		blobCalls.Add(1)
		id := strings.TrimPrefix(r.URL.Path, "/content/")
		if id == blobID(2) && failed.CompareAndSwap(false, true) {
			http.Error(w, "slow down", http.StatusServiceUnavailable)
			return
		}
		var n int
		fmt.Sscanf(id, "%x", &n)
		w.Write(gz(t, []byte(strings.Repeat(string(rune('a'+n)), 3))))
	}))
	defer blobs.Close()
	rows := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" {
			t.Errorf("stack rows request without the token")
		}
		var b strings.Builder
		b.WriteString(`{"rows":[`)
		for i := range 4 {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"row":{"blob_id":%q,"src_encoding":"UTF-8"}}`, blobID(i))
		}
		b.WriteString(`]}`)
		io.WriteString(w, b.String())
	}))
	defer rows.Close()
	c, _ := NewClient(ClientConfig{Endpoint: rows.URL, Token: "tok"})
	sh, _ := NewSoftwareHeritage(SoftwareHeritageConfig{BaseURL: blobs.URL, AccessKeyID: "a", SecretAccessKey: "b"})
	var sleeps int
	l := &Loader{Spec: mustSpec(t, "stack-v2"), Source: c, Blobs: sh, HFToken: true, Tokenizer: byteTokenizer{},
		SeqLen: 4, BatchSize: 1, NumPages: 1, Workers: 2,
		Sleep: func(context.Context, time.Duration) error { sleeps++; return nil }}
	res, err := l.Load(t.Context(), big.NewInt(5))
	if err != nil {
		t.Fatal(err)
	}
	// First attempt: rows 0 and 1 kept ("aaa",0,"bbb",0), row 2 fails; the retry adds all four.
	want := []int32{'a', 'a', 'a', 0, 'b', 'b', 'b', 0, 'a', 'a', 'a', 0, 'b', 'b', 'b', 0, 'c', 'c', 'c', 0, 'd', 'd', 'd', 0}
	if fmt.Sprint(res.Tokens) != fmt.Sprint(want) {
		t.Errorf("tokens = %v, want %v", res.Tokens, want)
	}
	if sleeps != 1 {
		t.Errorf("sleeps = %d, want 1", sleeps)
	}
	if blobCalls.Load() != 8 {
		t.Errorf("blob calls = %d, want 8", blobCalls.Load())
	}
}
