package validator

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func serve(t testing.TB, h http.Handler) string {
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return ts.URL
}
