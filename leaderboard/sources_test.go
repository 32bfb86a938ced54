package leaderboard

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHTTPSourceHidesCredentials(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusTeapot)
	}))
	defer ts.Close()
	base := strings.Replace(ts.URL, "http://", "http://op:s3cret@", 1)
	src, err := newHTTPSource(base, ts.Client())
	if err != nil {
		t.Fatal(err)
	}
	_, err = src.fetch(t.Context())
	if err == nil || !strings.Contains(err.Error(), "418") {
		t.Errorf("fetch from a failing validator: %v, want its status", err)
	}
	for _, s := range []string{src.name(), err.Error()} {
		if strings.Contains(s, "s3cret") {
			t.Errorf("%q shows the password", s)
		}
	}
	ts.Close()
	if _, err := src.fetch(t.Context()); err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("fetch from a closed validator: %v", err)
	}
	for _, bad := range []string{"ftp://x", "http://", "::", "/steplog"} {
		if _, err := newHTTPSource(bad, nil); err == nil {
			t.Errorf("newHTTPSource(%q) succeeded", bad)
		}
	}
}
