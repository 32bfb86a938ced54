// Package hubtest starts a local hub ([hubserver.Server]) on a loopback httptest server for
// tests of code that downloads or uploads models.
package hubtest

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/pretrain/pretrain/hub/hubserver"
)

// Token is the write token of namespace "miner" on hubs started by [Start].
const Token = "hf_test_token_miner"

// Start serves a fresh hub from t.TempDir() on loopback, with wrap (if not nil) around its
// handler, and closes it when the test ends. The namespace "miner" is writable with [Token];
// extra tokens map to the namespaces they own.
func Start(t testing.TB, wrap func(http.Handler) http.Handler, extra map[string]string) (*httptest.Server, *hubserver.Server) {
	t.Helper()
	tokens := map[string]string{Token: "miner"}
	for k, v := range extra {
		tokens[k] = v
	}
	s, err := hubserver.New(hubserver.Config{Dir: t.TempDir(), Tokens: tokens})
	if err != nil {
		t.Fatal(err)
	}
	h := s.Handler()
	if wrap != nil {
		h = wrap(h)
	}
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return ts, s
}
