package dataset

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/pretrain/pretrain/internal/bounded"
)

// Limits on a local text file, which may come from anywhere.
const (
	maxDocumentsBytes = 4 << 30  // decompressed bytes of one file
	maxDocumentLine   = 64 << 20 // bytes of one JSON line
)

// ReadDocuments reads the documents of a local text file: JSON lines (gzipped when the name
// ends in .gz) whose rows carry a "text" or else a "content" string, read as the loaders read
// a datasets-server row (row.get("text", row.get("content"))); or, when the first non-blank
// byte is not '{', the whole file as one plain-text document.
func ReadDocuments(ctx context.Context, path string) ([]string, error) {
	f, err := bounded.Open(path) // refuses FIFOs and other special files
	if err != nil {
		return nil, fmt.Errorf("read documents: %w", err)
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(f)
		if err != nil {
			return nil, fmt.Errorf("read documents %s: %w", path, err)
		}
		defer zr.Close()
		r = zr
	}
	br := bufio.NewReaderSize(io.LimitReader(r, maxDocumentsBytes+1), 1<<16)
	if !startsWithObject(br) {
		b, err := bounded.ReadAll(br, maxDocumentsBytes)
		if err != nil {
			return nil, fmt.Errorf("read documents %s: %w", path, err)
		}
		return []string{string(b)}, nil
	}
	sc := bufio.NewScanner(br)
	sc.Buffer(make([]byte, 0, 1<<20), maxDocumentLine)
	var docs []string
	var read int64
	var plain Loader // a loader of a Spec that reads "text", then "content"
	for line := 1; sc.Scan(); line++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if read += int64(len(sc.Bytes())) + 1; read > maxDocumentsBytes {
			return nil, fmt.Errorf("read documents %s: more than %d bytes", path, int64(maxDocumentsBytes))
		}
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var row Row
		if err := json.Unmarshal(b, &row); err != nil {
			return nil, fmt.Errorf("read documents %s: line %d: %w", path, line, err)
		}
		text, err := plain.rowText(row)
		if err != nil {
			return nil, fmt.Errorf("read documents %s: line %d: %w", path, line, err)
		}
		docs = append(docs, text)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read documents %s: %w", path, err)
	}
	return docs, nil
}

// startsWithObject reports whether the first non-blank byte of r is '{', leaving r unread.
func startsWithObject(r *bufio.Reader) bool {
	for n := 1; ; n++ {
		b, err := r.Peek(n)
		if len(b) < n {
			return false
		}
		c := b[n-1]
		switch c {
		case ' ', '\t', '\r', '\n':
			if err != nil || n >= r.Size() {
				return false
			}
			continue
		}
		return c == '{'
	}
}

// DocumentBatches tokenizes docs as a loader tokenizes rows (truncation, EOS after each
// document) and packs the buffer into batches of one seqLen-token row ([Pack], packed). Unlike
// a validator's task, every window is kept, in order.
func DocumentBatches(ctx context.Context, docs []string, tok Tokenizer, seqLen int) ([]Batch, error) {
	l := Loader{Tokenizer: tok}
	var buf []int32
	eos := tok.EOS()
	ids, err := l.tokenize(ctx, docs)
	if err != nil {
		return nil, err
	}
	for _, ids := range ids {
		buf = append(append(buf, ids...), eos)
	}
	batches, err := Pack(buf, eos, 1, seqLen, false)
	if err != nil {
		return nil, err
	}
	if len(batches) == 0 {
		return nil, fmt.Errorf("%d tokens make no window of %d: %w", len(buf), seqLen, ErrNoBatches)
	}
	return batches, nil
}
