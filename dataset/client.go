package dataset

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/pretrain/pretrain/internal/stall"
)

// DefaultEndpoint is the Hugging Face datasets-server.
const DefaultEndpoint = "https://datasets-server.huggingface.co"

// Client defaults.
const (
	// DefaultTimeout is the longest a request may go without progress: connecting, waiting for
	// the response, or between two reads of the body. The reference passes timeout=15 to
	// requests, which bounds the connect and each socket read the same way, so a slow but
	// steady body is read, not abandoned for a new page draw.
	DefaultTimeout = 15 * time.Second
	// maxRequestDuration caps a whole request that keeps trickling (requests has no such cap;
	// this only ends pathological servers).
	maxRequestDuration  = 10 * time.Minute
	DefaultMaxBodyBytes = 64 << 20 // a 50-row page of long documents is a few MB
	maxRowsPerResponse  = 100      // the datasets-server's own page limit
)

// ErrInvalidResponse marks a response that parsed as JSON but has the wrong shape (a missing
// field, a wrong type, too many rows). The reference fails on these (KeyError/TypeError)
// instead of retrying, and so do the loaders.
var ErrInvalidResponse = errors.New("invalid datasets-server response")

// ErrBodyTooLarge marks a body over the client's limit. It is not retried: the same page would
// be as large again.
var ErrBodyTooLarge = errors.New("response body too large")

// RequestError is a failed request of the kind the reference retries (a
// requests.RequestException): a network error, a timeout, a 4xx/5xx status, or a body that is
// not JSON (requests' JSONDecodeError is a RequestException).
type RequestError struct {
	Op      string // "rows", "size" or "blob"
	URL     string
	Status  int  // HTTP status, 0 if none was received
	BadJSON bool // the status was 2xx but the body did not parse (the FineWeb loader's page is already counted then)
	Err     error
}

func (e *RequestError) Error() string {
	who := "datasets-server"
	if e.Op == "blob" {
		who = "software heritage"
	}
	if e.Status != 0 && !e.BadJSON {
		return fmt.Sprintf("%s %s %s: status %d: %v", who, e.Op, e.URL, e.Status, e.Err)
	}
	return fmt.Sprintf("%s %s %s: %v", who, e.Op, e.URL, e.Err)
}

func (e *RequestError) Unwrap() error { return e.Err }

// Retryable reports whether err is one the reference retries.
func Retryable(err error) bool {
	var re *RequestError
	return errors.As(err, &re)
}

// Source is the datasets-server API the loaders read: the remote Client, a Cache in front of
// one, or anything serving the same rows.
type Source interface {
	Rows(ctx context.Context, req RowsRequest) (*RowsPage, error)
	Size(ctx context.Context, dataset string) (*Size, error)
}

// RowsRequest is one /rows call.
type RowsRequest struct {
	Dataset, Config, Split string
	Offset                 int64
	Length                 int
	// Auth sends the Bearer token (loaders with requires_auth).
	Auth bool
}

// Row is one dataset row: its fields as raw JSON.
type Row map[string]json.RawMessage

// RowsPage is a validated /rows response.
type RowsPage struct {
	Rows         []Row `json:"rows"`
	NumRowsTotal int64 `json:"num_rows_total"`
}

// SizeSplit is one entry of /size's size.splits.
type SizeSplit struct {
	Dataset string `json:"dataset"`
	Config  string `json:"config"`
	Split   string `json:"split"`
	NumRows int64  `json:"num_rows"`
}

// Size is a validated /size response: the split entries in server order.
type Size struct {
	Splits []SizeSplit
}

// ClientConfig configures a Client. Zero values mean the defaults.
type ClientConfig struct {
	Endpoint string // DefaultEndpoint if empty
	// Token is HF_TOKEN. It is sent only on RowsRequest.Auth, only to Endpoint, and only over
	// https or to a loopback host (a local datasets-server); an Auth request that would send
	// it over plain http elsewhere fails instead.
	Token        string
	Timeout      time.Duration // longest wait without progress; DefaultTimeout if zero
	MaxBodyBytes int64         // DefaultMaxBodyBytes if zero
	// Transport replaces http.DefaultTransport (tests, proxies).
	Transport http.RoundTripper
}

// Client talks to a datasets-server. One request per call: the loaders own the retries,
// because the reference retries differently per loader. Safe for concurrent use.
type Client struct {
	base    *url.URL
	token   string
	maxBody int64
	idle    time.Duration
	http    *http.Client
}

var _ Source = (*Client)(nil)

// NewClient returns a client for cfg.Endpoint.
func NewClient(cfg ClientConfig) (*Client, error) {
	base, err := url.Parse(cmp.Or(cfg.Endpoint, DefaultEndpoint))
	if err != nil {
		return nil, fmt.Errorf("datasets-server endpoint: %w", err)
	}
	if (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("datasets-server endpoint %q: want an http(s) URL", cfg.Endpoint)
	}
	host := base.Host
	c := &Client{
		base:    base,
		token:   cfg.Token,
		maxBody: cmp.Or(cfg.MaxBodyBytes, DefaultMaxBodyBytes),
		idle:    cmp.Or(cfg.Timeout, DefaultTimeout),
		http: &http.Client{
			Transport: cfg.Transport,
			Timeout:   maxRequestDuration,
			// Redirects are followed as requests follows them; the token goes to the configured
			// endpoint only (requests strips it on a change of host or port, and so do we) and
			// never over plain http.
			CheckRedirect: func(req *http.Request, via []*http.Request) error {
				if req.URL.Host != host {
					req.Header.Del("Authorization")
				}
				if req.Header.Get("Authorization") != "" && !tokenAllowed(req.URL) {
					return fmt.Errorf("redirect to %s refused: the token goes only over https", req.URL.Redacted())
				}
				if len(via) >= 30 { // requests' DEFAULT_REDIRECT_LIMIT
					return errors.New("too many redirects")
				}
				return nil
			},
		},
	}
	return c, nil
}

// tokenAllowed reports whether a bearer token may be sent to u: over https, or to a loopback
// host (localhost or a loopback IP), as tests and a local datasets-server use plain http.
func tokenAllowed(u *url.URL) bool {
	if u.Scheme == "https" {
		return true
	}
	host := u.Hostname()
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// Endpoint returns the base URL.
func (c *Client) Endpoint() string { return c.base.String() }

func (c *Client) url(path string, q url.Values) string {
	u := *c.base
	u.Path = strings.TrimSuffix(u.Path, "/") + path
	u.RawQuery = q.Encode()
	return u.String()
}

// get performs one GET and returns the body of a 2xx response.
func (c *Client) get(ctx context.Context, op, u string, auth bool) ([]byte, error) {
	rctx, watch, stop := stall.Watch(ctx, c.idle)
	defer stop()
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("datasets-server %s: %w", op, err)
	}
	if auth && c.token != "" {
		if !tokenAllowed(req.URL) {
			return nil, fmt.Errorf("datasets-server %s: refusing to send HF_TOKEN over plain http to %s (use https or a loopback host)", op, req.URL.Host)
		}
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &RequestError{Op: op, URL: u, Err: watch.Err(rctx, err)}
	}
	defer resp.Body.Close()
	watch.Kick()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		// Drain a little so the connection can be reused; never the whole of a huge body.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil, &RequestError{Op: op, URL: u, Status: resp.StatusCode, Err: errors.New(http.StatusText(resp.StatusCode))}
	}
	if resp.ContentLength > c.maxBody {
		return nil, fmt.Errorf("datasets-server %s %s: %w: %d bytes, limit %d", op, u, ErrBodyTooLarge, resp.ContentLength, c.maxBody)
	}
	body, err := io.ReadAll(watch.Reader(io.LimitReader(resp.Body, c.maxBody+1)))
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &RequestError{Op: op, URL: u, Status: resp.StatusCode, Err: fmt.Errorf("read body: %w", watch.Err(rctx, err))}
	}
	if int64(len(body)) > c.maxBody {
		return nil, fmt.Errorf("datasets-server %s %s: %w: over %d bytes", op, u, ErrBodyTooLarge, c.maxBody)
	}
	return body, nil
}

// Rows fetches one page of rows.
func (c *Client) Rows(ctx context.Context, r RowsRequest) (*RowsPage, error) {
	if r.Length <= 0 || r.Length > maxRowsPerResponse {
		return nil, fmt.Errorf("datasets-server rows: length %d out of range 1..%d", r.Length, maxRowsPerResponse)
	}
	q := url.Values{}
	q.Set("dataset", r.Dataset)
	q.Set("config", r.Config)
	q.Set("split", r.Split)
	q.Set("offset", strconv.FormatInt(r.Offset, 10))
	q.Set("length", strconv.Itoa(r.Length))
	u := c.url("/rows", q)
	body, err := c.get(ctx, "rows", u, r.Auth)
	if err != nil {
		return nil, err
	}
	return ParseRows(body, r.Length, u)
}

// ParseRows validates a /rows body: at most maxRows rows, each with an object "row".
// Malformed JSON is a RequestError (retried, as requests' JSONDecodeError is); a wrong shape
// wraps ErrInvalidResponse.
func ParseRows(body []byte, maxRows int, u string) (*RowsPage, error) {
	var raw struct {
		Rows []struct {
			Row json.RawMessage `json:"row"`
		} `json:"rows"`
		NumRowsTotal *json.Number `json:"num_rows_total"`
	}
	if err := decodeJSON(body, &raw); err != nil {
		if isSyntaxError(err) {
			return nil, &RequestError{Op: "rows", URL: u, Status: 200, BadJSON: true, Err: err}
		}
		return nil, fmt.Errorf("datasets-server rows %s: %w: %v", u, ErrInvalidResponse, err)
	}
	if raw.Rows == nil {
		return nil, fmt.Errorf("datasets-server rows %s: %w: no \"rows\" list", u, ErrInvalidResponse)
	}
	if len(raw.Rows) > maxRows {
		return nil, fmt.Errorf("datasets-server rows %s: %w: %d rows for a page of %d", u, ErrInvalidResponse, len(raw.Rows), maxRows)
	}
	page := &RowsPage{Rows: make([]Row, len(raw.Rows))}
	if raw.NumRowsTotal != nil {
		n, err := raw.NumRowsTotal.Int64()
		if err != nil {
			return nil, fmt.Errorf("datasets-server rows %s: %w: num_rows_total %q", u, ErrInvalidResponse, *raw.NumRowsTotal)
		}
		page.NumRowsTotal = n
	}
	for i, r := range raw.Rows {
		if len(r.Row) == 0 || r.Row[0] != '{' {
			return nil, fmt.Errorf("datasets-server rows %s: %w: rows[%d].row is not an object", u, ErrInvalidResponse, i)
		}
		if err := json.Unmarshal(r.Row, &page.Rows[i]); err != nil {
			return nil, fmt.Errorf("datasets-server rows %s: %w: rows[%d].row: %v", u, ErrInvalidResponse, i, err)
		}
	}
	return page, nil
}

// Size fetches /size?dataset=. The reference sends no token here.
func (c *Client) Size(ctx context.Context, dataset string) (*Size, error) {
	q := url.Values{}
	q.Set("dataset", dataset)
	u := c.url("/size", q)
	body, err := c.get(ctx, "size", u, false)
	if err != nil {
		return nil, err
	}
	return ParseSize(body, u)
}

// ParseSize validates a /size body: size.splits entries with string config/split and an
// integer num_rows (the reference raises on anything else).
func ParseSize(body []byte, u string) (*Size, error) {
	var raw struct {
		Size *struct {
			Splits []map[string]json.RawMessage `json:"splits"`
		} `json:"size"`
	}
	if err := decodeJSON(body, &raw); err != nil {
		if isSyntaxError(err) {
			return nil, &RequestError{Op: "size", URL: u, Status: 200, BadJSON: true, Err: err}
		}
		return nil, fmt.Errorf("datasets-server size %s: %w: %v", u, ErrInvalidResponse, err)
	}
	if raw.Size == nil || raw.Size.Splits == nil {
		return nil, fmt.Errorf("datasets-server size %s: %w: no size.splits", u, ErrInvalidResponse)
	}
	s := &Size{Splits: make([]SizeSplit, 0, len(raw.Size.Splits))}
	for i, e := range raw.Size.Splits {
		var sp SizeSplit
		if err := stringField(e, "config", &sp.Config); err != nil {
			return nil, fmt.Errorf("datasets-server size %s: %w: splits[%d]: %v", u, ErrInvalidResponse, i, err)
		}
		// The reference reads num_rows and split only for configs other than "default".
		if sp.Config == "default" {
			continue
		}
		if err := stringField(e, "split", &sp.Split); err != nil {
			return nil, fmt.Errorf("datasets-server size %s: %w: splits[%d]: %v", u, ErrInvalidResponse, i, err)
		}
		_ = stringField(e, "dataset", &sp.Dataset)
		n, ok := e["num_rows"]
		if !ok {
			return nil, fmt.Errorf("datasets-server size %s: %w: splits[%d]: no num_rows", u, ErrInvalidResponse, i)
		}
		v, err := strconv.ParseInt(string(bytes.TrimSpace(n)), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("datasets-server size %s: %w: splits[%d]: num_rows %s is not an integer", u, ErrInvalidResponse, i, n)
		}
		sp.NumRows = v
		s.Splits = append(s.Splits, sp)
	}
	return s, nil
}

func stringField(m map[string]json.RawMessage, key string, dst *string) error {
	v, ok := m[key]
	if !ok {
		return fmt.Errorf("no %s", key)
	}
	// json.Unmarshal leaves dst alone for a null, which Python reads as None, not a string.
	if v = bytes.TrimSpace(v); len(v) == 0 || v[0] != '"' || json.Unmarshal(v, dst) != nil {
		return fmt.Errorf("%s is not a string", key)
	}
	return nil
}

// decodeJSON decodes exactly one JSON value, with numbers kept exact.
func decodeJSON(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errTrailingData
	}
	return nil
}

var errTrailingData = errors.New("trailing data after the JSON value")

// isSyntaxError reports whether err means "not JSON" (Python's JSONDecodeError) rather than
// "JSON of the wrong shape".
func isSyntaxError(err error) bool {
	var syn *json.SyntaxError
	return errors.As(err, &syn) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || errors.Is(err, errTrailingData)
}

// HasToken reports whether a token is configured (loaders with requires_auth need one).
func (c *Client) HasToken() bool { return c.token != "" }
