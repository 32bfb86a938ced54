package subtensor

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

func TestConfigURL(t *testing.T) {
	for _, tc := range []struct {
		network, endpoint, want, err string
	}{
		{"", "", FinneyEndpoint, ""},
		{"finney", "", "wss://entrypoint-finney.opentensor.ai:443", ""},
		{"test", "", "wss://test.finney.opentensor.ai:443", ""},
		{"local", "", "ws://127.0.0.1:9944", ""},
		{"finney", "ws://10.0.0.5:9944", "ws://10.0.0.5:9944", ""},
		{"ws://node:9944", "", "ws://node:9944", ""},
		{"mainnet", "", "", "want finney, test, local"},
		{"", "http://node:9933", "", "want ws:// or wss://"},
		{"", "ws://", "", "want ws:// or wss://"},
	} {
		got, err := Config{Network: tc.network, Endpoint: tc.endpoint}.URL()
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("URL(%q, %q) error = %v, want %q", tc.network, tc.endpoint, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("URL(%q, %q) = %q, %v, want %q", tc.network, tc.endpoint, got, err, tc.want)
		}
	}
	if err := (Config{Era: 3}).Validate(); err == nil {
		t.Error("Validate(era 3): no error")
	}
}

func testClient(cfg Config) *Client {
	cfg = cfg.withDefaults()
	return &Client{cfg: cfg, log: slog.New(slog.DiscardHandler)}
}

// TestRetryBackoff checks the waits between attempts on the fake clock of a synctest bubble:
// 1 s, 2 s, 4 s, then capped at MaxBackoff.
func TestRetryBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := testClient(Config{Attempts: 6, Backoff: time.Second, MaxBackoff: 5 * time.Second})
		start := time.Now()
		var at []time.Duration
		err := c.retry(t.Context(), "op", func(context.Context) error {
			at = append(at, time.Since(start))
			return errors.New("connection reset")
		})
		want := []time.Duration{0, 1 * time.Second, 3 * time.Second, 7 * time.Second, 12 * time.Second, 17 * time.Second}
		if err == nil || !strings.Contains(err.Error(), "connection reset") {
			t.Errorf("retry error = %v", err)
		}
		if len(at) != len(want) {
			t.Fatalf("%d attempts at %v, want %v", len(at), at, want)
		}
		for i := range want {
			if at[i] != want[i] {
				t.Errorf("attempt %d at %v, want %v", i, at[i], want[i])
			}
		}
	})
}

func TestRetryStops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := testClient(Config{Attempts: 5})
		n := 0
		err := c.retry(t.Context(), "op", func(context.Context) error {
			n++
			return &RPCError{Method: "m", Code: 1010}
		})
		var re *RPCError
		if !errors.As(err, &re) || n != 1 {
			t.Errorf("node error: %d attempts, err %v; want 1 attempt", n, err)
		}

		n = 0
		err = c.retry(t.Context(), "op", func(context.Context) error {
			if n++; n < 3 {
				return errors.New("timeout")
			}
			return nil
		})
		if err != nil || n != 3 {
			t.Errorf("recovering op: %d attempts, err %v; want success on 3", n, err)
		}

		ctx, cancel := context.WithCancel(t.Context())
		go func() {
			time.Sleep(1500 * time.Millisecond) // fake clock: cancel during the second wait
			cancel()
		}()
		n = 0
		err = c.retry(ctx, "op", func(context.Context) error { n++; return errors.New("down") })
		if !errors.Is(err, context.Canceled) || n != 2 {
			t.Errorf("cancelled: %d attempts, err %v; want 2 and context.Canceled", n, err)
		}
	})
}
