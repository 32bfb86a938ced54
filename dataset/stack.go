package dataset

import (
	"bufio"
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/pretrain/pretrain/dataset/pycodec"
)

// BlobFetcher returns the gzip-decoded bytes of one Software Heritage content blob.
type BlobFetcher interface {
	Blob(ctx context.Context, blobID string) ([]byte, error)
}

// SoftwareHeritageURL is where the reference reads Stack v2 contents.
const SoftwareHeritageURL = "https://softwareheritage.s3.amazonaws.com"

// Blob fetch defaults.
const (
	DefaultBlobTimeout = 60 * time.Second
	// DefaultMaxBlobBytes bounds a blob's body and its decoded content. Stack v2 files are at
	// most a few MB; the reference has no bound, so a larger blob fails here
	// (ErrBodyTooLarge) where the reference would read it.
	DefaultMaxBlobBytes = 32 << 20
)

// SoftwareHeritageConfig configures SoftwareHeritage.
type SoftwareHeritageConfig struct {
	// BaseURL is SoftwareHeritageURL if empty (tests point it at a loopback server).
	BaseURL string
	// AccessKeyID and SecretAccessKey must be set, as the reference requires
	// AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY. They are not sent: the reference opens an
	// https:// URL with smart_open, whose http transport drops the boto3 client it is given,
	// so its GETs are anonymous, and this fetcher's are too.
	AccessKeyID, SecretAccessKey string
	Timeout                      time.Duration // per blob; DefaultBlobTimeout if zero
	MaxBytes                     int64         // body and decoded bound; DefaultMaxBlobBytes if zero
	Transport                    http.RoundTripper
}

// SoftwareHeritage fetches blobs with plain HTTPS GETs of {BaseURL}/content/{blob_id},
// gunzipped (smart_open's compression=".gz").
type SoftwareHeritage struct {
	base     string
	maxBytes int64
	http     *http.Client
}

// NewSoftwareHeritage checks cfg and returns a fetcher.
func NewSoftwareHeritage(cfg SoftwareHeritageConfig) (*SoftwareHeritage, error) {
	if cfg.AccessKeyID == "" || cfg.SecretAccessKey == "" {
		return nil, errors.New("software heritage: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set")
	}
	return &SoftwareHeritage{
		base:     strings.TrimSuffix(cmp.Or(cfg.BaseURL, SoftwareHeritageURL), "/"),
		maxBytes: cmp.Or(cfg.MaxBytes, DefaultMaxBlobBytes),
		http:     &http.Client{Transport: cfg.Transport, Timeout: cmp.Or(cfg.Timeout, DefaultBlobTimeout)},
	}, nil
}

func validBlobID(id string) bool {
	if len(id) != 40 { // a SWH sha1_git, hex
		return false
	}
	for i := range len(id) {
		c := id[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// Blob fetches and gunzips one blob. Network errors, 4xx/5xx statuses and a body cut off in
// transfer (shorter than its Content-Length, a broken chunked stream, a reset) are
// RequestErrors: the reference's requests/urllib3 raise a RequestException there, and the
// loader retries the page. A body that arrived whole but is not a valid gzip stream (bad
// header, bad checksum, truncated stream, trailing garbage) is not retried. A blob whose body
// or decoded content is over MaxBytes is an ErrBodyTooLarge error, never cut short.
func (s *SoftwareHeritage) Blob(ctx context.Context, blobID string) ([]byte, error) {
	if !validBlobID(blobID) {
		return nil, fmt.Errorf("blob %q: %w: blob_id is not 40 lowercase hex digits", blobID, ErrInvalidResponse)
	}
	u := s.base + "/content/" + blobID
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("blob %s: %w", blobID, err)
	}
	req.Header.Set("Accept-Encoding", "identity") // as smart_open's http transport
	resp, err := s.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &RequestError{Op: "blob", URL: u, Err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil, &RequestError{Op: "blob", URL: u, Status: resp.StatusCode, Err: errors.New(http.StatusText(resp.StatusCode))}
	}
	if resp.ContentLength > s.maxBytes {
		return nil, fmt.Errorf("blob %s: %w: body of %d bytes, limit %d", blobID, ErrBodyTooLarge, resp.ContentLength, s.maxBytes)
	}
	body := &blobBody{r: resp.Body, max: s.maxBytes}
	data, err := gunzip(body, s.maxBytes)
	switch {
	case err == nil:
		return data, nil
	case body.err != nil && ctx.Err() != nil:
		return nil, ctx.Err()
	case body.err != nil:
		return nil, &RequestError{Op: "blob", URL: u, Status: resp.StatusCode, Err: fmt.Errorf("read body: %w", body.err)}
	case body.over:
		return nil, fmt.Errorf("blob %s: %w: body over %d bytes", blobID, ErrBodyTooLarge, s.maxBytes)
	}
	return nil, fmt.Errorf("blob %s: %w", blobID, err)
}

// gunzip decodes a gzip file as Python's gzip.GzipFile(...).read() (smart_open's ".gz"): an
// empty file is empty, members are concatenated, and zero bytes between or after members are
// skipped. At most max decoded bytes.
func gunzip(r io.Reader, max int64) ([]byte, error) {
	br := bufio.NewReader(r)
	var out bytes.Buffer
	var zr gzip.Reader
	for first := true; ; first = false {
		if !first {
			// _read_eof: skip zero padding after a member; then EOF, or another member.
			for {
				c, err := br.ReadByte()
				if err == io.EOF {
					return out.Bytes(), nil
				}
				if err != nil {
					return nil, fmt.Errorf("gzip: %w", err)
				}
				if c != 0 {
					_ = br.UnreadByte()
					break
				}
			}
		} else if _, err := br.Peek(1); err == io.EOF {
			return []byte{}, nil
		}
		if err := zr.Reset(br); err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		zr.Multistream(false)
		if _, err := io.Copy(&out, io.LimitReader(&zr, max+1-int64(out.Len()))); err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		if int64(out.Len()) > max {
			return nil, fmt.Errorf("%w: decoded content over %d bytes", ErrBodyTooLarge, max)
		}
	}
}

// blobBody reads a response body and remembers why it stopped: a transport error (anything
// but a clean io.EOF) or the size bound. gzip's own errors are then told apart from these.
type blobBody struct {
	r    io.Reader
	n    int64
	max  int64
	err  error // the transport error, if any
	over bool
}

var errBlobTooLarge = errors.New("blob body over the size bound")

func (b *blobBody) Read(p []byte) (int, error) {
	if b.over {
		return 0, errBlobTooLarge
	}
	if room := b.max + 1 - b.n; int64(len(p)) > room {
		p = p[:room]
	}
	n, err := b.r.Read(p)
	b.n += int64(n)
	if b.n > b.max {
		b.over = true
		return n, errBlobTooLarge
	}
	if err != nil && err != io.EOF {
		b.err = err
	}
	return n, err
}

// DecodeText decodes a blob as the reference's bytes.decode(src_encoding) (the Stack v2 loader of
// pretrain/dataset.py): CPython's encoding names and strict decoding, through [pycodec.Decode]. An
// unknown or non-text encoding, or bytes invalid in it, is an error; the reference lets that
// exception escape, so the whole loader fails and is not retried. Codecs pycodec does not reproduce
// fail with pycodec.ErrUnsupported rather than decode differently.
func DecodeText(data []byte, encoding string) (string, error) {
	s, err := pycodec.Decode(data, encoding)
	if err != nil {
		return "", fmt.Errorf("decode %s: %w", encoding, err)
	}
	return s, nil
}
