package dataset

import (
	"context"
	"encoding/json"
	"errors"
	"math/big"
	"testing"
	"time"
)

// pageSource serves the same rows for every page and a one-config /size.
type pageSource struct {
	rows  []Row
	calls int
}

func (s *pageSource) Rows(context.Context, RowsRequest) (*RowsPage, error) {
	s.calls++
	return &RowsPage{Rows: s.rows}, nil
}

func (s *pageSource) Size(context.Context, string) (*Size, error) {
	return &Size{Splits: []SizeSplit{{Config: "CC-MAIN-1", Split: "train", NumRows: 1000}}}, nil
}

func row(t *testing.T, js string) Row {
	t.Helper()
	var r Row
	if err := json.Unmarshal([]byte(js), &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// The reference reads row.get("text", row.get("content")) (row["text"] for FineWeb) and calls
// tokenizer(content): None or a non-string raises, so the constructor fails. A null must not
// become an empty document, and the failure is not retried.
func TestLoaderRowText(t *testing.T) {
	const fails = "\x00fails" // the loader fails with ErrInvalidResponse
	tests := []struct{ spec, row, want string }{
		{"falcon", `{"content": "abc"}`, "abc"},
		{"falcon", `{"text": "t", "content": "c"}`, "t"},
		{"falcon", `{"text": "", "content": "c"}`, ""}, // an empty document: just EOS
		{"falcon", `{"text": null, "content": "x"}`, fails},
		{"falcon", `{"content": null}`, fails},
		{"falcon", `{"content": 5}`, fails},
		{"falcon", `{"content": ["a"]}`, fails},
		{"falcon", `{"other": "x"}`, fails},
		{"stack-v1", `{"text": null, "content": "x"}`, fails},
		{"fineweb", `{"text": "abc"}`, "abc"},
		{"fineweb", `{"text": null}`, fails},
		{"fineweb", `{"content": "abc"}`, fails},
		{"fineweb", `{"text": null, "content": "abc"}`, fails},
	}
	for _, tt := range tests {
		t.Run(tt.spec+" "+tt.row, func(t *testing.T) {
			src := &pageSource{rows: []Row{row(t, tt.row)}}
			l := &Loader{Spec: mustSpec(t, tt.spec), Source: src, Tokenizer: byteTokenizer{}, HFToken: true,
				SeqLen: 1, BatchSize: 1, NumPages: 1,
				Sleep: func(context.Context, time.Duration) error { t.Error("slept: the failure was retried"); return nil }}
			res, err := l.Load(t.Context(), big.NewInt(3))
			if tt.want == fails {
				if !errors.Is(err, ErrInvalidResponse) || src.calls != 1 {
					t.Errorf("Load = %v after %d fetches; want ErrInvalidResponse after 1", err, src.calls)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := string(int32sToBytes(res.Tokens)); got != tt.want+"\x00" {
				t.Errorf("tokens = %q, want %q", got, tt.want+"\x00")
			}
		})
	}
}

func int32sToBytes(v []int32) []byte {
	b := make([]byte, len(v))
	for i, x := range v {
		b[i] = byte(x)
	}
	return b
}

// blobMap serves blob contents from memory.
type blobMap map[string][]byte

func (m blobMap) Blob(_ context.Context, id string) ([]byte, error) {
	b, ok := m[id]
	if !ok {
		return nil, &RequestError{Op: "blob", Status: 404, Err: errors.New("not found")}
	}
	return b, nil
}

// Stack v2 rows: src_encoding must be a string, and a decode failure (unknown codec, bytes
// invalid in it) fails the loader as the reference's exception does, without retries.
func TestLoaderStackV2Decoding(t *testing.T) {
	blobs := blobMap{blobID(1): []byte("\x82\xa0"), blobID(2): []byte("\x81")}
	tests := []struct {
		row   string
		want  string
		fails bool
	}{
		{`{"blob_id": "` + blobID(1) + `", "src_encoding": "Shift_JIS"}`, "あ", false},
		{`{"blob_id": "` + blobID(1) + `", "src_encoding": "SJIS"}`, "あ", false},
		{`{"blob_id": "` + blobID(1) + `", "src_encoding": "windows-1252"}`, "‚\u00a0", false},
		{`{"blob_id": "` + blobID(2) + `", "src_encoding": "windows-1252"}`, "", true}, // 0x81 undefined
		{`{"blob_id": "` + blobID(1) + `", "src_encoding": "no-such-codec"}`, "", true},
		{`{"blob_id": "` + blobID(1) + `", "src_encoding": null}`, "", true},
		{`{"blob_id": null, "src_encoding": "UTF-8"}`, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.row, func(t *testing.T) {
			src := &pageSource{rows: []Row{row(t, tt.row)}}
			l := &Loader{Spec: mustSpec(t, "stack-v2"), Source: src, Blobs: blobs, Tokenizer: runeTokenizer{}, HFToken: true,
				SeqLen: 1, BatchSize: 1, NumPages: 1,
				Sleep: func(context.Context, time.Duration) error { t.Error("slept: the failure was retried"); return nil }}
			res, err := l.Load(t.Context(), big.NewInt(3))
			if tt.fails {
				if err == nil || Retryable(err) || src.calls != 1 {
					t.Errorf("Load = %v after %d fetches; want a non-retryable error after 1", err, src.calls)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []rune
			for _, id := range res.Tokens[:len(res.Tokens)-1] {
				got = append(got, rune(id))
			}
			if string(got) != tt.want {
				t.Errorf("text = %q, want %q", string(got), tt.want)
			}
		})
	}
}

// runeTokenizer makes one id per code point.
type runeTokenizer struct{}

func (runeTokenizer) Encode(text string, _ bool) []int32 {
	var ids []int32
	for _, r := range text {
		ids = append(ids, int32(r))
	}
	return ids
}
func (runeTokenizer) EOS() int32 { return 0 }
