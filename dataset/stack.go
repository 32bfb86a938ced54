package dataset

import (
	"cmp"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/encoding/ianaindex"
)

// BlobFetcher returns the gzip-decoded bytes of one Software Heritage content blob.
type BlobFetcher interface {
	Blob(ctx context.Context, blobID string) ([]byte, error)
}

// SoftwareHeritageURL is where the reference reads Stack v2 contents.
const SoftwareHeritageURL = "https://softwareheritage.s3.amazonaws.com"

// Blob fetch defaults.
const (
	DefaultBlobTimeout  = 60 * time.Second
	DefaultMaxBlobBytes = 32 << 20 // decoded; Stack v2 files are at most a few MB
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
	Timeout                      time.Duration
	MaxBytes                     int64
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

// Blob fetches and gunzips one blob. Network errors and 4xx/5xx statuses are RequestErrors
// (smart_open raises requests' HTTPError, which the loader retries); a corrupt gzip stream
// is not retried.
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
	zr, err := gzip.NewReader(io.LimitReader(resp.Body, s.maxBytes))
	if err != nil {
		return nil, fmt.Errorf("blob %s: gzip: %w", blobID, err)
	}
	data, err := io.ReadAll(io.LimitReader(zr, s.maxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("blob %s: gzip: %w", blobID, err)
	}
	if int64(len(data)) > s.maxBytes {
		return nil, fmt.Errorf("blob %s: %w: over %d bytes", blobID, ErrBodyTooLarge, s.maxBytes)
	}
	return data, nil
}

// DecodeText decodes a blob with its src_encoding, as bytes.decode(src_encoding). UTF-8 (and
// ASCII) decode strictly, like Python; other encodings go through golang.org/x/text, which
// maps undecodable bytes to U+FFFD where Python would raise.
func DecodeText(data []byte, encoding string) (string, error) {
	name := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(encoding), "_", "-"))
	switch name {
	case "utf-8", "utf8":
		if !utf8.Valid(data) {
			return "", fmt.Errorf("decode %s: invalid UTF-8", encoding)
		}
		return string(data), nil
	case "ascii", "us-ascii":
		for _, b := range data {
			if b >= 0x80 {
				return "", fmt.Errorf("decode %s: byte 0x%02x out of range", encoding, b)
			}
		}
		return string(data), nil
	}
	enc, err := ianaindex.IANA.Encoding(name)
	if err != nil || enc == nil {
		return "", fmt.Errorf("decode: unknown encoding %q", encoding)
	}
	out, err := enc.NewDecoder().Bytes(data)
	if err != nil {
		return "", fmt.Errorf("decode %s: %w", encoding, err)
	}
	return string(out), nil
}
