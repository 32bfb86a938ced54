package chain

import (
	"encoding/json"
	"errors"
	"math/big"
	"os"
	"strings"
	"testing"
	"unicode/utf8"
)

type pyintVectors struct {
	Decimals [][2]int
	Spaces   []rune
	Ints     [][2]string
	Metadata []struct {
		In  string
		Out *struct {
			Namespace     string
			Name          string
			Commit        *string
			Hash          *string
			SecureHash    *string `json:"secure_hash"`
			CompetitionID int     `json:"competition_id"`
		}
		Error string
	}
}

func loadPyint(t *testing.T) pyintVectors {
	t.Helper()
	raw, err := os.ReadFile("testdata/pyint.json")
	if err != nil {
		t.Fatal(err)
	}
	var v pyintVectors
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestPythonIntCPython checks the competition-id parser against int() as CPython evaluated it
// (testdata/gen_pyint.py).
func TestPythonIntCPython(t *testing.T) {
	v := loadPyint(t)
	if len(v.Decimals) < 600 || len(v.Spaces) < 20 || len(v.Ints) < 20 {
		t.Fatalf("vectors too small")
	}
	for _, d := range v.Decimals {
		got, err := pythonInt(string(rune(d[0])))
		if err != nil || got != d[1] {
			t.Errorf("pythonInt(%U) = %d, %v; want %d", d[0], got, err, d[1])
		}
	}
	for r := rune(0); r < 0x3100; r++ {
		want := false
		for _, s := range v.Spaces {
			want = want || s == r
		}
		// int() strips str.isspace characters except the ASCII separators U+001C..U+001F.
		want = want && !(r >= 0x1c && r <= 0x1f)
		if got := pythonSpace(r); got != want {
			t.Errorf("pythonSpace(%U) = %v, want %v", r, got, want)
		}
	}
	for _, c := range v.Ints {
		got, err := pythonInt(c[0])
		switch want, ok := new(big.Int).SetString(c[1], 10); {
		case !ok:
			if err == nil {
				t.Errorf("pythonInt(%q) = %d, want an error", c[0], got)
			}
		case !want.IsInt64():
			if err == nil {
				t.Errorf("pythonInt(%q) = %d, want out of range", c[0], got)
			}
		case err != nil || int64(got) != want.Int64():
			t.Errorf("pythonInt(%q) = %d, %v; want %s", c[0], got, err, c[1])
		}
	}
}

// TestParseModelIDCPython compares ParseModelID with ModelId.from_compressed_str run by CPython.
func TestParseModelIDCPython(t *testing.T) {
	v := loadPyint(t)
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	for _, c := range v.Metadata {
		got, err := ParseModelID(c.In)
		if c.Out == nil {
			if err == nil {
				t.Errorf("ParseModelID(%q) = %+v, want an error (Python: %s)", c.In, got, c.Error)
			} else if !errors.Is(err, ErrMalformedMetadata) {
				t.Errorf("ParseModelID(%q) error %v is not ErrMalformedMetadata", c.In, err)
			}
			continue
		}
		want := ModelID{Namespace: c.Out.Namespace, Name: c.Out.Name, Commit: str(c.Out.Commit),
			Hash: str(c.Out.Hash), SecureHash: str(c.Out.SecureHash), CompetitionID: c.Out.CompetitionID}
		if err != nil || got != want {
			t.Errorf("ParseModelID(%q) = %+v, %v; want %+v", c.In, got, err, want)
		}
	}
}

func TestModelIDRoundTrip(t *testing.T) {
	id := ModelID{Namespace: "myorg", Name: "my-3b", Commit: strings.Repeat("0123456789", 4),
		SecureHash: "k2oYXKqiZrucvpgengXLeM1zKwsygOuURBK7b4+PB68=", CompetitionID: 2}
	s := id.String()
	if want := "myorg:my-3b:" + id.Commit + ":" + id.SecureHash + ":2"; s != want {
		t.Fatalf("String() = %q, want %q", s, want)
	}
	got, err := ParseModelID(s)
	if err != nil || got != id {
		t.Fatalf("ParseModelID(String()) = %+v, %v; want %+v", got, err, id)
	}
	if err := id.Validate(); err != nil {
		t.Errorf("Validate() = %v", err)
	}
	// The longest allowed repo id with a two-digit competition id fits the 128 bytes (the
	// reference counts 4 separators; the "/" of the repo id becomes one of them, so 127).
	long := ModelID{Namespace: "o", Name: strings.Repeat("n", MaxRepoIDLength-2), Commit: id.Commit, SecureHash: id.SecureHash, CompetitionID: 99}
	if n := len(long.String()); n != MaxMetadataBytes-1 {
		t.Errorf("longest metadata is %d bytes, want %d", n, MaxMetadataBytes-1)
	}
	if err := long.Validate(); err != nil {
		t.Errorf("Validate(longest) = %v", err)
	}
	none := ModelID{Namespace: "ns", Name: "name"}
	if s := none.String(); s != "ns:name:None:None:0" {
		t.Errorf("String() with no commit = %q", s)
	}
}

// TestSplitRepoID ports taoverse tests/model/test_model_utils.py.
func TestSplitRepoID(t *testing.T) {
	tests := []struct {
		in      string
		wantErr string
	}{
		{"my-org/my-repo-name", ""},
		{"my-org/" + strings.Repeat("a", 40), "between 3 and 38 characters"},
		{"my-org" + strings.Repeat("a", 40), "between 3 and 38 characters"},
		{"my-org-my-repo", "format"},
		{"a/b/c", "format"},
		{"", "empty"},
		{"a/b", "between 3 and 38"},
		{"ab/c", ""},
	}
	for _, tt := range tests {
		ns, name, err := SplitRepoID(tt.in)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("SplitRepoID(%q) = %v", tt.in, err)
		case tt.wantErr == "" && ns+"/"+name != tt.in:
			t.Errorf("SplitRepoID(%q) = %q, %q", tt.in, ns, name)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("SplitRepoID(%q) error = %v, want it to mention %q", tt.in, err, tt.wantErr)
		}
	}
	id := ModelID{Namespace: "my-org", Name: "my-repo-name", Commit: "test-commit"}
	if got, want := id.URL(), "https://huggingface.co/my-org/my-repo-name/tree/test-commit"; got != want {
		t.Errorf("URL() = %q, want %q", got, want)
	}
}

// FuzzParseModelID: no input panics, and whatever parses re-serializes to a string that parses
// to the same id (five-field form).
func FuzzParseModelID(f *testing.F) {
	for _, s := range []string{"myorg:my-3b:aaaa:hash:2", "a:b:c:d", "a:b:None:None: 4 ", "::::", "a:b:c:d:٣", "x:y:z:w:1_0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseModelID(s)
		if err != nil {
			return
		}
		if !utf8.ValidString(s) || len(s) > MaxMetadataBytes {
			t.Fatalf("accepted invalid input %q", s)
		}
		if strings.Contains(id.Namespace+id.Name+id.Commit+id.SecureHash, ":") {
			t.Fatalf("field holds a separator: %+v", id)
		}
		if id.Commit == "None" || id.SecureHash == "None" {
			t.Fatalf("None not mapped: %+v", id)
		}
		again, err := ParseModelID(id.String())
		if err != nil && len(id.String()) <= MaxMetadataBytes {
			t.Fatalf("re-parse of %q: %v", id.String(), err)
		}
		id.Hash = ""
		if err == nil && again != id {
			t.Fatalf("re-parse of %q = %+v, want %+v", id.String(), again, id)
		}
	})
}
