package tokenizer

import (
	"bytes"
	"compress/gzip"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestBuiltinFacts checks the values SN9 relies on (the competitions' tokenizers, truncation at
// model_max_length): EOS ids and model_max_length of the Hugging Face tokenizers of these names.
func TestBuiltinFacts(t *testing.T) {
	tests := []struct {
		name      string
		eos       int32
		maxLength int
		vocab     int
	}{
		{"gpt2", 50256, 1024, 50257},
		{"distilgpt2", 50256, 1024, 50257},
		{"openai-community/gpt2", 50256, 1024, 50257},
		{"Xenova/gpt-4", 100257, 8192, 100277},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := mustLoad(t, tt.name)
			if got := tok.EOS(); got != tt.eos {
				t.Errorf("EOS() = %d, want %d", got, tt.eos)
			}
			if got := tok.MaxLength(); got != tt.maxLength {
				t.Errorf("MaxLength() = %d, want %d", got, tt.maxLength)
			}
			if got := tok.VocabSize(); got != tt.vocab {
				t.Errorf("VocabSize() = %d, want %d", got, tt.vocab)
			}
			if _, ok := tok.Pad(); ok {
				t.Errorf("Pad() ok, want no pad token")
			}
			if got := tok.Encode("<|endoftext|>", false); !slices.Equal(got, []int32{tt.eos}) {
				t.Errorf("Encode(<|endoftext|>) = %v, want [%d]", got, tt.eos)
			}
		})
	}
	if _, err := Load("no-such-tokenizer"); err == nil {
		t.Error("Load(no-such-tokenizer) succeeded")
	}
}

// builtinJSON returns the embedded tokenizer.json of a built-in, uncompressed.
func builtinJSON(t testing.TB, name string) []byte {
	t.Helper()
	f, err := builtinFS.Open(builtins[name].file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestLoadDir loads the @lenml packages' tokenizer.json and tokenizer_config.json from a
// model directory and from a file path; the ids must equal npm tiktoken's.
func TestLoadDir(t *testing.T) {
	for _, tt := range []struct{ name, cfg string }{{"gpt2", "gpt2"}, {"Xenova/gpt-4", "gpt-4"}} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "tokenizer.json"), builtinJSON(t, tt.name), 0o644); err != nil {
				t.Fatal(err)
			}
			cfg, err := os.ReadFile(filepath.Join("testdata", tt.cfg, "tokenizer_config.json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "tokenizer_config.json"), cfg, 0o644); err != nil {
				t.Fatal(err)
			}
			builtin := mustLoad(t, tt.name)
			for _, path := range []string{dir, filepath.Join(dir, "tokenizer.json")} {
				tok := mustLoad(t, path)
				if tok.EOS() != builtin.EOS() || tok.MaxLength() != builtin.MaxLength() || tok.VocabSize() != builtin.VocabSize() {
					t.Errorf("Load(%s): eos %d max %d vocab %d, want %d %d %d", path, tok.EOS(), tok.MaxLength(),
						tok.VocabSize(), builtin.EOS(), builtin.MaxLength(), builtin.VocabSize())
				}
				checkFixtures(t, tok, tt.name)
			}
		})
	}
}

// tinyJSON is a small well-formed byte-level BPE tokenizer.json: the 256 byte tokens
// (ids 0-255 in GPT-2's byte order), three merges and <|endoftext|>.
func tinyJSON(t testing.TB) []byte {
	t.Helper()
	vocab := map[string]int{}
	for b := range 256 {
		vocab[string(byteToRune[b])] = len(vocab)
	}
	for _, s := range []string{"he", "Ġt", "Ġthe", "<|endoftext|>"} {
		vocab[s] = len(vocab)
	}
	m := map[string]any{
		"added_tokens":   []any{map[string]any{"id": vocab["<|endoftext|>"], "content": "<|endoftext|>", "special": true}},
		"normalizer":     nil,
		"pre_tokenizer":  map[string]any{"type": "ByteLevel", "add_prefix_space": false, "use_regex": true},
		"post_processor": map[string]any{"type": "ByteLevel"},
		"decoder":        map[string]any{"type": "ByteLevel"},
		"model":          map[string]any{"type": "BPE", "vocab": vocab, "merges": []string{"h e", "Ġ t", "Ġt he"}},
	}
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestTiny(t *testing.T) {
	tok, err := parse(tinyJSON(t))
	if err != nil {
		t.Fatal(err)
	}
	// " the" merges h+e (rank 0), Ġ+t (1), then Ġt+he (2); in " hthe" only h+e applies.
	// Ids are the byte values here, so " " is 32.
	if got, want := tok.Encode(" the hthe<|endoftext|>", false), []int32{258, 32, 104, 116, 256, 259}; !slices.Equal(got, want) {
		t.Errorf("Encode = %v, want %v", got, want)
	}
}

// TestIgnoreMerges: with ignore_merges a piece that is a vocab entry is that entry even
// when no merge builds it (tokenizers' BPE::tokenize_with_cache); without, BPE applies.
func TestIgnoreMerges(t *testing.T) {
	for _, ignore := range []bool{false, true} {
		data := edit(t, tinyJSON(t), func(m map[string]any) {
			model := m["model"].(map[string]any)
			model["vocab"].(map[string]any)["xyz"] = 260
			model["ignore_merges"] = ignore
		})
		tok, err := parse(data)
		if err != nil {
			t.Fatal(err)
		}
		want := []int32{'x', 'y', 'z'}
		if ignore {
			want = []int32{260}
		}
		if got := tok.Encode("xyz", false); !slices.Equal(got, want) {
			t.Errorf("ignore_merges %v: Encode(xyz) = %v, want %v", ignore, got, want)
		}
	}
}

func TestConfig(t *testing.T) {
	data := tinyJSON(t)
	tests := []struct {
		name, config, specialMap string
		eos, pad                 int32
		maxLength                int
		err                      string
	}{
		{name: "none", eos: 259, pad: -1},
		{name: "object eos and pad", config: `{"eos_token": {"content": "<|endoftext|>", "__type": "AddedToken"}, "pad_token": "!", "model_max_length": 77}`, eos: 259, pad: 33, maxLength: 77},
		{name: "no limit", config: `{"model_max_length": 1000000000000000019884624838656}`, eos: 259, pad: -1},
		{name: "map overrides", config: `{"eos_token": "!"}`, specialMap: `{"eos_token": "\"", "pad_token": null}`, eos: 34, pad: -1},
		{name: "unknown eos", config: `{"eos_token": "<eos>"}`, err: `eos_token "<eos>": not in the vocabulary`},
		{name: "bad max", config: `{"model_max_length": -3}`, err: "model_max_length"},
		{name: "bad eos", config: `{"eos_token": 7}`, err: "eos_token"},
		{name: "bad json", config: `{`, err: "decode tokenizer_config.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			write := func(name, s string) {
				if s != "" {
					if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
						t.Fatal(err)
					}
				}
			}
			write("tokenizer.json", string(data))
			write("tokenizer_config.json", tt.config)
			write("special_tokens_map.json", tt.specialMap)
			tok, err := Load(dir)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("Load: error %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			pad, _ := tok.Pad()
			if tok.EOS() != tt.eos || pad != tt.pad || tok.MaxLength() != tt.maxLength {
				t.Errorf("eos %d pad %d max %d, want %d %d %d", tok.EOS(), pad, tok.MaxLength(), tt.eos, tt.pad, tt.maxLength)
			}
		})
	}
}

// edit decodes tokenizer.json, lets f change it, and encodes it again.
func edit(t testing.TB, data []byte, f func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	f(m)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestParseErrors(t *testing.T) {
	data := tinyJSON(t)
	model := func(m map[string]any) map[string]any { return m["model"].(map[string]any) }
	tests := []struct {
		name string
		edit func(m map[string]any)
		err  string
	}{
		{"wordpiece", func(m map[string]any) { model(m)["type"] = "WordPiece" }, `model type "WordPiece"`},
		{"normalizer", func(m map[string]any) { m["normalizer"] = map[string]any{"type": "NFKC"} }, `normalizer "NFKC"`},
		{"metaspace", func(m map[string]any) { m["pre_tokenizer"] = map[string]any{"type": "Metaspace"} }, `pre_tokenizer "Metaspace"`},
		{"template", func(m map[string]any) { m["post_processor"] = map[string]any{"type": "TemplateProcessing"} }, `post_processor "TemplateProcessing"`},
		{"decoder", func(m map[string]any) { m["decoder"] = map[string]any{"type": "Metaspace"} }, `decoder "Metaspace"`},
		{"no decoder", func(m map[string]any) { m["decoder"] = nil }, `decoder ""`},
		{"dropout", func(m map[string]any) { model(m)["dropout"] = 0.1 }, "dropout"},
		{"byte fallback", func(m map[string]any) { model(m)["byte_fallback"] = true }, "byte_fallback"},
		{"suffix", func(m map[string]any) { model(m)["end_of_word_suffix"] = "</w>" }, "end_of_word_suffix"},
		{"missing byte", func(m map[string]any) { delete(model(m)["vocab"].(map[string]any), "Ġ") }, "no token for byte 0x20"},
		{"bad merge", func(m map[string]any) { model(m)["merges"].([]any)[1] = "abc" }, "merge 1"},
		{"merge not in vocab", func(m map[string]any) { model(m)["merges"].([]any)[1] = "Ġ zzzz" }, "not in vocab"},
		{"negative id", func(m map[string]any) { model(m)["vocab"].(map[string]any)["!"] = -1 }, "out of range"},
		{"dup id", func(m map[string]any) { model(m)["vocab"].(map[string]any)["!"] = 1 }, "vocab id 1"},
		{"empty added", func(m map[string]any) {
			m["added_tokens"] = []any{map[string]any{"id": 9, "content": ""}}
		}, "added token 0"},
		{"added id mismatch", func(m map[string]any) {
			m["added_tokens"] = []any{map[string]any{"id": 9, "content": "<|endoftext|>"}}
		}, "vocab says 259"},
		{"split behavior", func(m map[string]any) {
			m["pre_tokenizer"] = map[string]any{"type": "Sequence", "pretokenizers": []any{
				map[string]any{"type": "Split", "pattern": map[string]any{"Regex": "x"}, "behavior": "MergedWithNext"},
				map[string]any{"type": "ByteLevel", "use_regex": false}}}
		}, "behavior"},
		{"bad regex", func(m map[string]any) {
			m["pre_tokenizer"] = map[string]any{"type": "Sequence", "pretokenizers": []any{
				map[string]any{"type": "Split", "pattern": map[string]any{"Regex": "(x"}, "behavior": "Removed", "invert": true},
				map[string]any{"type": "ByteLevel", "use_regex": false}}}
		}, "compile split pattern"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parse(edit(t, data, tt.edit))
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("parse: error %v, want one containing %q", err, tt.err)
			}
		})
	}
	if _, err := parse(edit(t, data, func(m map[string]any) { model(m)["type"] = "Unigram" })); !errors.Is(err, ErrUnsupported) {
		t.Errorf("parse(Unigram): error %v, want ErrUnsupported", err)
	}
	if _, err := parse([]byte("{")); err == nil {
		t.Error("parse({) succeeded")
	}
}

// TestAddedTokenRules replays tokenizers' tests/added_tokens.rs (lstrip, rstrip,
// single_word, overlapping), whose byte-level model is RoBERTa's, i.e. GPT-2's BPE. The
// expected tokens are theirs; a token with surrounding spaces is the added token.
func TestAddedTokenRules(t *testing.T) {
	base := builtinJSON(t, "gpt2")
	type added struct {
		content             string
		lstrip, rstrip, one bool
	}
	tests := []struct {
		name        string
		prefixSpace bool
		added       []added
		input       string
		want        []string
	}{
		{"lstrip", true, []added{{content: "<mask>", lstrip: true}}, "I saw a <mask> 😺", []string{"ĠI", "Ġsaw", "Ġa", " <mask>", "ĠðŁĺ", "º"}},
		{"rstrip", false, []added{{content: "<mask>", rstrip: true}}, "I saw a <mask> 😺", []string{"I", "Ġsaw", "Ġa", "Ġ", "<mask> ", "ðŁĺ", "º"}},
		{"rstrip prefix space", true, []added{{content: "<mask>", rstrip: true}}, "I saw a <mask> 😺", []string{"ĠI", "Ġsaw", "Ġa", "Ġ", "<mask> ", "ĠðŁĺ", "º"}},
		{"single word", false, []added{{content: "ing", one: true}}, "I like dancing", []string{"I", "Ġlike", "Ġdancing"}},
		{"not single word", false, []added{{content: "ing"}}, "I like dancing", []string{"I", "Ġlike", "Ġd", "anc", "ing"}},
		{"overlapping", false, []added{{content: "danc"}, {content: "nci"}, {content: "ing"}}, "I like dancing", []string{"I", "Ġlike", "Ġ", "danc", "ing"}},
		{"overlapping order", false, []added{{content: "nci"}, {content: "danc"}, {content: "ing"}, {content: "ike"}}, "I like dancing", []string{"I", "Ġl", "ike", "Ġ", "danc", "ing"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var vocab map[string]any
			data := edit(t, base, func(m map[string]any) {
				vocab = m["model"].(map[string]any)["vocab"].(map[string]any)
				m["pre_tokenizer"].(map[string]any)["add_prefix_space"] = tt.prefixSpace
				list := m["added_tokens"].([]any)
				for i, a := range tt.added {
					id := float64(60000 + i)
					if v, ok := vocab[a.content]; ok {
						id = v.(float64)
					}
					list = append(list, map[string]any{"id": id, "content": a.content, "lstrip": a.lstrip,
						"rstrip": a.rstrip, "single_word": a.one, "normalized": false, "special": true})
				}
				m["added_tokens"] = list
			})
			tok, err := parse(data)
			if err != nil {
				t.Fatal(err)
			}
			var want []int32
			for _, w := range tt.want {
				id, ok := tok.TokenID(strings.TrimSpace(w))
				if !ok {
					t.Fatalf("token %q not in vocab", w)
				}
				want = append(want, id)
			}
			if got := tok.Encode(tt.input, false); !slices.Equal(got, want) {
				t.Errorf("Encode(%q) = %v, want %v (%q)", tt.input, got, want, tt.want)
			}
		})
	}
}

func TestTruncate(t *testing.T) {
	for _, name := range []string{"gpt2", "Xenova/gpt-4"} {
		tok := mustLoad(t, name)
		var long strings.Builder
		for _, fx := range fixtures(t)[:40] {
			long.WriteString(fx.Text)
			long.WriteString("<|endoftext|>")
		}
		full := tok.Encode(long.String(), false)
		got := tok.Encode(long.String(), true)
		if len(full) <= tok.MaxLength() {
			t.Fatalf("%s: text of %d tokens is too short for the test", name, len(full))
		}
		if !slices.Equal(got, full[:tok.MaxLength()]) {
			t.Errorf("%s: Encode(truncate) is not the first %d ids of Encode (len %d)", name, tok.MaxLength(), len(got))
		}
		short := fixtures(t)[len(fixtures(t))-5].Text
		if !slices.Equal(tok.Encode(short, true), tok.Encode(short, false)) {
			t.Errorf("%s: truncation changed a short text", name)
		}
	}
}

func TestEncodeBatch(t *testing.T) {
	tok := mustLoad(t, "Xenova/gpt-4")
	var texts []string
	for _, fx := range fixtures(t)[280:] {
		texts = append(texts, fx.Text)
	}
	got := tok.EncodeBatch(texts, true)
	for i, s := range texts {
		if !slices.Equal(got[i], tok.Encode(s, true)) {
			t.Errorf("EncodeBatch[%d] differs from Encode", i)
		}
	}
	if len(tok.EncodeBatch(nil, false)) != 0 {
		t.Error("EncodeBatch(nil) not empty")
	}
}

// TestDecode checks the round trip on the fixtures and the lossy UTF-8 vectors of CPython.
func TestDecode(t *testing.T) {
	for _, name := range []string{"gpt2", "Xenova/gpt-4"} {
		tok := mustLoad(t, name)
		for _, fx := range fixtures(t) {
			if got := tok.Decode(want(&fx, name)); string(got) != fx.Text {
				t.Errorf("%s: Decode(ids of %s) = %.40q, want %.40q", name, fx.Name, got, fx.Text)
			}
		}
		if got := tok.Decode([]int32{-1, 1 << 30, 0}); string(got) != "!" {
			t.Errorf("%s: Decode with unknown ids = %q, want %q", name, got, "!")
		}
	}
	raw, err := os.ReadFile("testdata/lossy.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct{ Hex, Text string }
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	// gpt2's byte tokens: decoding them one by one yields arbitrary bytes.
	tok := mustLoad(t, "gpt2")
	for _, c := range cases {
		b, _ := hex.DecodeString(c.Hex)
		ids := make([]int32, len(b))
		for i, x := range b {
			ids[i] = tok.model.byteID[x]
		}
		if got := tok.Decode(ids); !bytes.Equal(got, []byte(c.Text)) {
			t.Errorf("Decode(bytes %s) = %q, want %q", c.Hex, got, c.Text)
		}
	}
}

func TestInvalidUTF8RoundTrip(t *testing.T) {
	for _, name := range []string{"gpt2", "Xenova/gpt-4"} {
		tok := mustLoad(t, name)
		for _, s := range []string{"\xff", "a\xe2\x82 b", "\xf0\x9f\x98 \xf0\x9f\x98\x80", "x'\xc3"} {
			ids := tok.Encode(s, false)
			var raw []byte
			for _, id := range ids {
				raw = append(raw, tok.decode[id]...)
			}
			if string(raw) != s {
				t.Errorf("%s: bytes of Encode(%q) = %q", name, s, raw)
			}
		}
	}
}

// TestWriteFiles: a tokenizer written into a directory loads back as the same tokenizer,
// built-ins and directory loads alike.
func TestWriteFiles(t *testing.T) {
	for _, name := range []string{"gpt2", "Xenova/gpt-4"} {
		t.Run(name, func(t *testing.T) {
			orig, err := Load(name)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			if err := orig.WriteFiles(dir); err != nil {
				t.Fatal(err)
			}
			back, err := Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			again := t.TempDir() // a directory load writes what it read
			if err := back.WriteFiles(again); err != nil {
				t.Fatal(err)
			}
			reread, err := Load(again)
			if err != nil {
				t.Fatal(err)
			}
			const text = "Hello world<|endoftext|> it's 2026, naïve café!"
			for _, tok := range []*Tokenizer{back, reread} {
				if got, want := tok.Encode(text, false), orig.Encode(text, false); !slices.Equal(got, want) {
					t.Errorf("Encode = %v, want %v", got, want)
				}
				if tok.EOS() != orig.EOS() || tok.MaxLength() != orig.MaxLength() || tok.VocabSize() != orig.VocabSize() {
					t.Errorf("eos %d, max length %d, vocab %d; want %d, %d, %d", tok.EOS(), tok.MaxLength(), tok.VocabSize(),
						orig.EOS(), orig.MaxLength(), orig.VocabSize())
				}
			}
		})
	}
}
