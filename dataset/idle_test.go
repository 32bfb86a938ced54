package dataset

import (
	"errors"
	"io"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pretrain/pretrain/internal/stall"
)

// trickleTransport answers every request with a 200 whose body arrives in chunks, gap apart
// (in the synctest bubble's fake time).
type trickleTransport struct {
	chunks []string
	gap    time.Duration
}

func (t trickleTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	pr, pw := io.Pipe()
	go func() {
		for _, c := range t.chunks {
			select {
			case <-time.After(t.gap):
			case <-req.Context().Done():
				pw.CloseWithError(req.Context().Err())
				return
			}
			pw.Write([]byte(c))
		}
		pw.Close()
	}()
	return &http.Response{StatusCode: 200, Body: pr, Header: http.Header{}, ContentLength: -1, Request: req}, nil
}

// TestClientIdleTimeout: like requests' timeout=15, the limit is on time without progress, so
// a body that trickles in for longer than the timeout is read, and one that stalls is not.
func TestClientIdleTimeout(t *testing.T) {
	body := `{"features": [], "rows": [{"row_idx": 0, "row": {"text": "a"}, "truncated_cells": []}], "num_rows_total": 1, "num_rows_per_page": 100, "partial": false}`
	parts := []string{body[:40], body[40:80], body[80:]}
	synctest.Test(t, func(t *testing.T) {
		c, err := NewClient(ClientConfig{Endpoint: "http://datasets.test", Timeout: 15 * time.Second,
			Transport: trickleTransport{chunks: parts, gap: 10 * time.Second}})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		page, err := c.Rows(t.Context(), RowsRequest{Dataset: "d", Config: "c", Split: "s", Length: 50})
		if err != nil {
			t.Fatalf("steady 30 s body with a 15 s timeout: %v", err)
		}
		if len(page.Rows) != 1 || time.Since(start) < 30*time.Second {
			t.Errorf("got %d rows after %v", len(page.Rows), time.Since(start))
		}
		stalled, _ := NewClient(ClientConfig{Endpoint: "http://datasets.test", Timeout: 15 * time.Second,
			Transport: trickleTransport{chunks: parts, gap: 20 * time.Second}})
		_, err = stalled.Rows(t.Context(), RowsRequest{Dataset: "d", Config: "c", Split: "s", Length: 50})
		var re *RequestError
		if !errors.As(err, &re) || !errors.Is(err, stall.ErrNoProgress) {
			t.Errorf("stalled body: error %v, want a RequestError for no progress", err)
		}
	})
}
