package hub

import (
	"encoding/json"
	"slices"
	"testing"
)

// TestVersionAtMost: packaging.version.parse(v) <= Version("4.44.1") as get_fast_tokenizer_file
// computes it (packaging >= 22, where a non-PEP 440 string raises InvalidVersion).
func TestVersionAtMost(t *testing.T) {
	tests := []struct {
		v      string
		le, ok bool
	}{
		{"4.44.1", true, true},
		{"4.44.1.0", true, true}, // trailing zeros do not count
		{"v4.44.1", true, true},
		{" 4.44.1\t", true, true},
		{"4.44", true, true},
		{"4.44.0", true, true},
		{"4.44.2", false, true},
		{"4.45", false, true},
		{"4.9", true, true},
		{"04.044.01", true, true},
		{"10.0.0", false, true},
		{"3.99999999999999999999999", true, true},
		{"4.44.1rc1", true, true},
		{"4.44.1-alpha.2", true, true},
		{"4.44.1.dev0", true, true},
		{"4.44.1.post1", false, true},
		{"4.44.1-1", false, true},
		{"4.44.1.post1.dev0", false, true},
		{"4.44.1+local", false, true},
		{"4.44.1RC1", true, true},
		{"1!1.0", false, true},
		{"0!4.0", true, true},
		{"4.44.1a", true, true},
		{"next", false, false},
		{"", false, false},
		{"4.44.1.", false, false},
		{"4..44", false, false},
		{"4.44.1+", false, false},
		{"4.44.1 x", false, false},
	}
	for _, tt := range tests {
		le, ok := versionAtMost(tt.v, transformersVersion)
		if le != tt.le || ok != tt.ok {
			t.Errorf("versionAtMost(%q) = %v, %v, want %v, %v", tt.v, le, ok, tt.le, tt.ok)
		}
	}
}

// TestFastTokenizerFile: get_fast_tokenizer_file over the values json.load can give.
func TestFastTokenizerFile(t *testing.T) {
	tests := []struct {
		raw  string
		want string // "" = raises
	}{
		{`[]`, "tokenizer.json"},
		{`["tokenizer.4.0.0.json"]`, "tokenizer.4.0.0.json"},
		{`["x/tokenizer.4.0.0.json"]`, "x/tokenizer.4.0.0.json"},                         // re.search, not match
		{`["tokenizer.4.0.0.json", "y/tokenizer.4.0.0.json"]`, "y/tokenizer.4.0.0.json"}, // a later name wins
		{`["tokenizer.4.1.json", "tokenizer.4.0.json"]`, "tokenizer.4.1.json"},           // sorted
		{`["tokenizer.4.9.json", "tokenizer.4.10.json"]`, "tokenizer.4.9.json"},          // "4.10" < "4.9" as strings: 4.9 is taken last
		{`["tokenizer.4.50.json", "tokenizer.4.6.json"]`, "tokenizer.json"},              // "4.50" first, newer: stop
		{`["tokenizer.json", "tokenizer..json", "other.json"]`, ""},                      // "" is no version
		{`["tokenizer.4.0.json.json"]`, ""},                                              // greedy: "4.0.json"
		{`{"tokenizer.4.0.0.json": 1, "tokenizer.5.json": 2}`, "tokenizer.4.0.0.json"},   // a dict's keys
		{`"tokenizer.4.0.0.json"`, "tokenizer.json"},                                     // a str's characters
		{`null`, ""},
		{`3`, ""},
		{`[1]`, ""},
		{`["tokenizer.bad.json"]`, ""},
	}
	for _, tt := range tests {
		got, ok := fastTokenizerFile(json.RawMessage(tt.raw))
		if !ok {
			got = ""
		}
		if got != tt.want {
			t.Errorf("fastTokenizerFile(%s) = %q, %v, want %q", tt.raw, got, ok, tt.want)
		}
	}
}

// TestPyJSONObject: what Python's json.load accepts, for an object.
func TestPyJSONObject(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{`{"a": NaN, "b": Infinity, "c": [-Infinity, 1]}`, true},
		{`{"a": "NaN Infinity"}`, true},
		{`{"a": "\"NaN"}`, true},
		{`{"a": -NaN}`, false},
		{`{"a": 1NaN}`, false},
		{`{"a": NaN.5}`, false},
		{`{"a": NaNe5}`, false},
		{`{"a": --Infinity}`, false},
		{`{NaN: 1}`, false},
		{`[1]`, false},
		{`null`, false},
		{``, false},
		{"\xef\xbb\xbf{}", false}, // a BOM: json.loads raises
		{"{\"a\": \"\xff\"}", false},
		{`{"Tokenizer_Class": 1}`, true},
	}
	for _, tt := range tests {
		if _, ok := pyJSONObject([]byte(tt.in)); ok != tt.ok {
			t.Errorf("pyJSONObject(%q) ok = %v, want %v", tt.in, ok, tt.ok)
		}
	}
	// Keys are exact: a differently cased key is not tokenizer_class.
	m, _ := pyJSONObject([]byte(`{"Tokenizer_Class": "GPT2Tokenizer"}`))
	if c, _ := optString(m, "tokenizer_class"); c != "" {
		t.Errorf("case-folded key read as tokenizer_class %q", c)
	}
}

// FuzzTokenizerRequests: any tokenizer_config.json and config.json give either nothing or
// file names from the class tables, the additional files, or a versioned tokenizer file.
func FuzzTokenizerRequests(f *testing.F) {
	f.Add([]byte(`{"tokenizer_class": "GPT2Tokenizer"}`), []byte(`{"model_type": "gpt2"}`))
	f.Add([]byte(`{"fast_tokenizer_files": ["tokenizer.4.0.json"], "auto_map": {"AutoTokenizer": [null, "x"]}}`), []byte(`{"model_type": "llama"}`))
	f.Add([]byte(`{"x": NaN}`), []byte(`{"model_type": "qwen2", "auto_map": ["AutoTokenizer"]}`))
	f.Add([]byte(nil), []byte(`{"model_type": "falcon", "tokenizer_class": ""}`))
	known := map[string]bool{"added_tokens.json": true, "special_tokens_map.json": true, tokenizerConfigFile: true, "tokenizer.json": true}
	for _, files := range tokenizerVocab {
		for _, n := range files {
			known[n] = true
		}
	}
	f.Fuzz(func(t *testing.T, tc, cfg []byte) {
		got := tokenizerRequests(tc, cfg)
		for _, n := range got {
			if !known[n] && !reTokenizerFile.MatchString(n) {
				t.Fatalf("requested %q", n)
			}
		}
		if got != nil && !slices.Contains(got, tokenizerConfigFile) {
			t.Fatalf("requests %q lack %s", got, tokenizerConfigFile)
		}
	})
}
