package tokenizer

import (
	"slices"
	"testing"
	"unicode/utf8"
)

// FuzzEncodeDecode: for both built-ins, nothing panics, the ids' bytes are the input's
// bytes, and for valid UTF-8 Decode(Encode(s)) == s; truncation keeps a prefix.
func FuzzEncodeDecode(f *testing.F) {
	for _, s := range []string{"", "hello world", "<|endoftext|>x", "  \n\t\r\n\u00a0é", "'s'S'ſ", "12345😀", "\xff\xe2\x82"} {
		f.Add(s)
	}
	toks := []*Tokenizer{mustLoad(f, "gpt2"), mustLoad(f, "Xenova/gpt-4")}
	f.Fuzz(func(t *testing.T, s string) {
		for _, tok := range toks {
			ids := tok.Encode(s, false)
			var raw []byte
			for _, id := range ids {
				raw = append(raw, tok.decode[id]...)
			}
			if string(raw) != s {
				t.Fatalf("%s: bytes of Encode(%q) = %q", tok.Name(), s, raw)
			}
			if utf8.ValidString(s) {
				if got := tok.Decode(ids); string(got) != s {
					t.Fatalf("%s: Decode(Encode(%q)) = %q", tok.Name(), s, got)
				}
			} else if got := tok.Decode(ids); !utf8.Valid(got) {
				t.Fatalf("%s: Decode gave invalid UTF-8 %q", tok.Name(), got)
			}
			if tr := tok.Encode(s, true); !slices.Equal(tr, ids[:min(len(ids), tok.MaxLength())]) {
				t.Fatalf("%s: truncated ids are not a prefix", tok.Name())
			}
		}
	})
}

// FuzzSplit compares the hand-written splitters with regexp2 on the same patterns, with
// Unicode 14.0 classes (see refSplit).
func FuzzSplit(f *testing.F) {
	for _, s := range []string{"", "Hello, world!  \n\n  x", "it's 'S 'ſx", " \u0085 \ufeff\u2028x", "1234567 ٣٤٥", "a\r\n\r\n b", "\xff 'x", "\U00031350>d x'ſx 𝟎\U0001E4F0"} {
		f.Add(s)
	}
	sps := regexp2Splitters(f)
	f.Fuzz(func(t *testing.T, s string) {
		for name, sp := range sps {
			if got, want := pieces(sp[0], s), refSplit(sp[1], s); !slices.Equal(got, want) {
				t.Fatalf("%s: split(%q) = %q, regexp2 %q", name, s, got, want)
			}
		}
	})
}

// FuzzParse feeds arbitrary tokenizer.json and tokenizer_config.json bytes to the parsers
// Load uses: they must return an error or a tokenizer that encodes and decodes.
func FuzzParse(f *testing.F) {
	tiny := tinyJSON(f)
	f.Add(tiny, []byte(`{"eos_token": "<|endoftext|>", "model_max_length": 4}`))
	f.Add(tiny, []byte(`{"pad_token": {"content": "!"}}`))
	f.Add([]byte(`{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": [["a", "a"]]}}`), []byte(`{}`))
	f.Add(edit(f, tiny, func(m map[string]any) {
		m["pre_tokenizer"] = map[string]any{"type": "Sequence", "pretokenizers": []any{
			map[string]any{"type": "Split", "pattern": map[string]any{"Regex": `\s+|\w+`}, "behavior": "Isolated"},
			map[string]any{"type": "ByteLevel", "use_regex": false}}}
		m["added_tokens"] = []any{map[string]any{"id": 300, "content": "<x>", "lstrip": true, "rstrip": true, "single_word": true, "normalized": true}}
	}), []byte(`{}`))
	f.Fuzz(func(t *testing.T, tokJSON, cfgJSON []byte) {
		tok, err := parse(tokJSON)
		if err != nil {
			return
		}
		var cfg config
		if cfg.merge(cfgJSON) != nil || tok.apply(&cfg) != nil {
			return
		}
		ids := tok.Encode("the <x> <|endoftext|> x\n  y 12", true)
		tok.Decode(append(ids, -5, tok.EOS(), int32(tok.VocabSize())))
	})
}
