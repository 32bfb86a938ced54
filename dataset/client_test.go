package dataset

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// page builds a /rows body of n rows with the given text field.
func rowsBody(n int, field string) string {
	var b strings.Builder
	b.WriteString(`{"features":[],"rows":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"row_idx":%d,"row":{%q:"doc %d"},"truncated_cells":[]}`, i, field, i)
	}
	fmt.Fprintf(&b, `],"num_rows_total":1000,"num_rows_per_page":100,"partial":false}`)
	return b.String()
}

// wordTokenizer makes one id per byte, so token counts are predictable.
type byteTokenizer struct{}

func (byteTokenizer) Encode(text string, truncate bool) []int32 {
	ids := make([]int32, len(text))
	for i := range len(text) {
		ids[i] = int32(text[i])
	}
	return ids
}
func (byteTokenizer) EOS() int32 { return 0 }

func TestClientFailures(t *testing.T) {
	tests := []struct {
		name      string
		handler   http.HandlerFunc
		maxBody   int64
		timeout   time.Duration
		retryable bool
		is        error
	}{
		{"500", func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "boom", 500) }, 0, 0, true, nil},
		{"503", func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "busy", 503) }, 0, 0, true, nil},
		{"404", func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "no", 404) }, 0, 0, true, nil},
		{"truncated JSON", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, rowsBody(3, "text")[:40]) }, 0, 0, true, nil},
		{"not JSON", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "<html>bad gateway</html>") }, 0, 0, true, nil},
		{"trailing garbage", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, rowsBody(1, "text")+"}") }, 0, 0, true, nil},
		{"too many rows", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, rowsBody(51, "text")) }, 0, 0, false, ErrInvalidResponse},
		{"no rows list", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, `{"error":"x"}`) }, 0, 0, false, ErrInvalidResponse},
		{"row not an object", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, `{"rows":[{"row":"x"}]}`) }, 0, 0, false, ErrInvalidResponse},
		{"rows wrong type", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, `{"rows":{"a":1}}`) }, 0, 0, false, ErrInvalidResponse},
		{"huge body streamed", func(w http.ResponseWriter, _ *http.Request) {
			chunk := strings.Repeat("x", 1<<16)
			io.WriteString(w, `{"rows":[{"row":{"text":"`)
			for range 1 << 10 { // 64 MiB, never held by the client
				if _, err := io.WriteString(w, chunk); err != nil {
					return
				}
			}
		}, 1 << 20, 0, false, ErrBodyTooLarge},
		{"huge content length", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Length", "1000000000")
			io.WriteString(w, "{}")
		}, 1 << 20, 0, false, ErrBodyTooLarge},
		{"timeout", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }, 0, 50 * time.Millisecond, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hs := httptest.NewServer(tt.handler)
			defer hs.Close()
			c, err := NewClient(ClientConfig{Endpoint: hs.URL, MaxBodyBytes: tt.maxBody, Timeout: tt.timeout})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Rows(t.Context(), RowsRequest{Dataset: "d", Config: "c", Split: "s", Offset: 1, Length: 50})
			if err == nil {
				t.Fatal("Rows succeeded, want error")
			}
			if Retryable(err) != tt.retryable {
				t.Errorf("Retryable(%v) = %v, want %v", err, Retryable(err), tt.retryable)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v, want %v", err, tt.is)
			}
		})
	}
}

func TestClientSendsTokenOnlyWhenAskedAndOnlyToEndpoint(t *testing.T) {
	var otherHits atomic.Int64
	var otherAuth atomic.Value
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		otherHits.Add(1)
		otherAuth.Store(r.Header.Get("Authorization"))
		io.WriteString(w, rowsBody(1, "text"))
	}))
	defer other.Close()
	var gotAuth []string
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAuth = append(gotAuth, r.Header.Get("Authorization"))
		if r.URL.Query().Get("dataset") == "redirect" {
			http.Redirect(w, r, other.URL+"/rows", http.StatusFound)
			return
		}
		io.WriteString(w, rowsBody(1, "text"))
	}))
	defer hs.Close()
	c, err := NewClient(ClientConfig{Endpoint: hs.URL, Token: "hf_secret"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if _, err := c.Rows(ctx, RowsRequest{Dataset: "d", Config: "c", Split: "s", Length: 50, Auth: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Rows(ctx, RowsRequest{Dataset: "d", Config: "c", Split: "s", Length: 50}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Size(ctx, "d"); err == nil {
		t.Fatal("Size of a rows body: want error")
	}
	want := []string{"Bearer hf_secret", "", ""}
	if fmt.Sprint(gotAuth) != fmt.Sprint(want) {
		t.Errorf("Authorization headers = %q, want %q", gotAuth, want)
	}
	// A redirect to another host (here another port) is followed, as requests does, but the
	// token stays behind.
	_, err = c.Rows(ctx, RowsRequest{Dataset: "redirect", Config: "c", Split: "s", Length: 50, Auth: true})
	if err != nil || otherHits.Load() != 1 || otherAuth.Load() != "" {
		t.Errorf("redirect to another host: err %v, hits %d, Authorization %q; want followed without the token", err, otherHits.Load(), otherAuth.Load())
	}
}

func TestClientRequestShape(t *testing.T) {
	var got string
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.URL.Path + "?" + r.URL.RawQuery
		io.WriteString(w, rowsBody(2, "content"))
	}))
	defer hs.Close()
	c, err := NewClient(ClientConfig{Endpoint: hs.URL + "/"})
	if err != nil {
		t.Fatal(err)
	}
	page, err := c.Rows(t.Context(), RowsRequest{Dataset: "tiiuae/falcon-refinedweb", Config: "default", Split: "train", Offset: 968000015, Length: 50})
	if err != nil {
		t.Fatal(err)
	}
	if want := "/rows?config=default&dataset=tiiuae%2Ffalcon-refinedweb&length=50&offset=968000015&split=train"; got != want {
		t.Errorf("request = %s, want %s", got, want)
	}
	if len(page.Rows) != 2 || page.NumRowsTotal != 1000 {
		t.Errorf("page = %d rows, total %d; want 2, 1000", len(page.Rows), page.NumRowsTotal)
	}
	for _, bad := range []string{"", "ftp://x", "http://", "::"} {
		if _, err := NewClient(ClientConfig{Endpoint: bad}); err == nil && bad != "" {
			t.Errorf("NewClient(%q): want error", bad)
		}
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		name, body string
		want       []SizeSplit
		invalid    bool
		retryable  bool
	}{
		{"ok", `{"size":{"splits":[{"dataset":"d","config":"default","split":"train","num_rows":9},{"dataset":"d","config":"a","split":"train","num_rows":22335106879}]}}`,
			[]SizeSplit{{Dataset: "d", Config: "a", Split: "train", NumRows: 22335106879}}, false, false},
		{"float rows", `{"size":{"splits":[{"config":"a","split":"train","num_rows":1.5}]}}`, nil, true, false},
		{"missing split", `{"size":{"splits":[{"config":"a","num_rows":1}]}}`, nil, true, false},
		{"config not string", `{"size":{"splits":[{"config":1,"split":"t","num_rows":1}]}}`, nil, true, false},
		{"no size", `{"error":"Not found"}`, nil, true, false},
		{"truncated", `{"size":{"splits":[`, nil, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ParseSize([]byte(tt.body), "u")
			if tt.invalid != errors.Is(err, ErrInvalidResponse) || tt.retryable != Retryable(err) {
				t.Fatalf("err = %v, want invalid %v retryable %v", err, tt.invalid, tt.retryable)
			}
			if err == nil && fmt.Sprint(s.Splits) != fmt.Sprint(tt.want) {
				t.Errorf("splits = %v, want %v", s.Splits, tt.want)
			}
		})
	}
}

// A server that always fails: the simple loader retries the same page 15 times, sleeping
// retry_delay between attempts (14 sleeps), then returns the error.
func TestLoaderRetryLimitAgainstFailingServer(t *testing.T) {
	for _, tt := range []struct {
		name    string
		spec    string
		handler http.HandlerFunc
		calls   int64
		sleeps  int
	}{
		{"simple 5xx", "falcon", func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "x", 502) }, 15, 14},
		{"fineweb size 5xx", "fineweb", func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "x", 500) }, 15, 14},
		{"simple truncated JSON", "falcon", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, `{"rows":[`) }, 15, 14},
		{"simple wrong rows count", "falcon", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, rowsBody(60, "content")) }, 1, 0},
		{"simple row without text", "falcon", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, rowsBody(3, "other")) }, 1, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int64
			hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				tt.handler(w, r)
			}))
			defer hs.Close()
			c, err := NewClient(ClientConfig{Endpoint: hs.URL})
			if err != nil {
				t.Fatal(err)
			}
			var sleeps []time.Duration
			l := &Loader{Spec: mustSpec(t, tt.spec), Source: c, Tokenizer: byteTokenizer{}, SeqLen: 16, BatchSize: 1, NumPages: 2,
				Sleep: func(_ context.Context, d time.Duration) error { sleeps = append(sleeps, d); return nil }}
			_, err = l.Load(t.Context(), big.NewInt(1))
			if err == nil {
				t.Fatal("Load succeeded, want error")
			}
			if calls.Load() != tt.calls || len(sleeps) != tt.sleeps {
				t.Errorf("calls %d, sleeps %d; want %d, %d (err %v)", calls.Load(), len(sleeps), tt.calls, tt.sleeps, err)
			}
			for _, d := range sleeps {
				if d != DefaultRetryDelay {
					t.Errorf("slept %v, want %v", d, DefaultRetryDelay)
				}
			}
		})
	}
}

func TestLoaderNeedsTokenAndBlobs(t *testing.T) {
	for _, name := range []string{"stack-v1", "stack-v2"} {
		l := &Loader{Spec: mustSpec(t, name), Source: fixedSize{}, Tokenizer: byteTokenizer{}, SeqLen: 8, BatchSize: 1, NumPages: 1}
		if _, err := l.Load(t.Context(), big.NewInt(1)); err == nil || !strings.Contains(err.Error(), "HF_TOKEN") {
			t.Errorf("%s without token: err %v, want HF_TOKEN error", name, err)
		}
	}
	l := &Loader{Spec: mustSpec(t, "stack-v2"), HFToken: true, Source: fixedSize{}, Tokenizer: byteTokenizer{}, SeqLen: 8, BatchSize: 1, NumPages: 1}
	if _, err := l.Load(t.Context(), big.NewInt(1)); err == nil {
		t.Error("stack-v2 without blob fetcher: want error")
	}
}

// The real sleep honours cancellation.
func TestLoaderSleepCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	l := &Loader{RetryDelay: time.Hour}
	if err := l.sleep(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("sleep = %v, want context.Canceled", err)
	}
}

// HF_TOKEN goes only over https, or to a loopback host; never over plain http elsewhere, and a
// redirect may not downgrade to http.
func TestClientTokenOnlyOverHTTPSOrLoopback(t *testing.T) {
	var sawAuth atomic.Int64
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			sawAuth.Add(1)
		}
		io.WriteString(w, rowsBody(1, "text"))
	}))
	defer hs.Close()
	addr := strings.TrimPrefix(hs.URL, "http://") // 127.0.0.1:port
	_, port, _ := strings.Cut(addr, ":")
	// Any host name reaches the test server: the transport dials it regardless.
	dial := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}}
	for _, tt := range []struct {
		endpoint string
		sent     bool
	}{
		{"http://127.0.0.1:" + port, true},
		{"http://localhost:" + port, true},
		{"http://[::1]:" + port, true},
		{"http://datasets.example.org:" + port, false},
		{"http://10.1.2.3:" + port, false},
	} {
		sawAuth.Store(0)
		c, err := NewClient(ClientConfig{Endpoint: tt.endpoint, Token: "hf_secret", Transport: dial})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Rows(t.Context(), RowsRequest{Dataset: "d", Config: "c", Split: "s", Length: 50, Auth: true})
		if got := sawAuth.Load() == 1; got != tt.sent || (err == nil) != tt.sent {
			t.Errorf("%s: token sent %v, err %v; want sent %v and an error otherwise", tt.endpoint, got, err, tt.sent)
		}
		if !tt.sent && Retryable(err) {
			t.Errorf("%s: refusing the token is retryable: %v", tt.endpoint, err)
		}
		// Requests without auth still work there.
		if _, err := c.Rows(t.Context(), RowsRequest{Dataset: "d", Config: "c", Split: "s", Length: 50}); err != nil {
			t.Errorf("%s without auth: %v", tt.endpoint, err)
		}
	}
	// https to a public name: sent. httptest's certificate is for example.com.
	tls := httptest.NewTLSServer(hs.Config.Handler)
	defer tls.Close()
	tr := tls.Client().Transport.(*http.Transport).Clone()
	tlsAddr := strings.TrimPrefix(tls.URL, "https://")
	tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, tlsAddr)
	}
	_, tlsPort, _ := strings.Cut(tlsAddr, ":")
	sawAuth.Store(0)
	c, err := NewClient(ClientConfig{Endpoint: "https://example.com:" + tlsPort, Token: "hf_secret", Transport: tr})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Rows(t.Context(), RowsRequest{Dataset: "d", Config: "c", Split: "s", Length: 50, Auth: true}); err != nil || sawAuth.Load() != 1 {
		t.Errorf("https: err %v, token sent %d times; want once", err, sawAuth.Load())
	}
}
