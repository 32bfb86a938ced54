package tokenizer

import (
	"bytes"
	"compress/gzip"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sync"

	"github.com/pretrain/pretrain/internal/bounded"
)

// The built-in tokenizers are the real tokenizer.json files, gzipped (see data/README.md).
//
//go:embed data/*.json.gz
var builtinFS embed.FS

// builtin describes a tokenizer that needs no file: its tokenizer.json and the values of
// its Hugging Face tokenizer_config.json.
type builtin struct {
	file      string
	eos       string
	maxLength int
	once      sync.Once
	tok       *Tokenizer
	err       error
}

var (
	gpt2Builtin = &builtin{file: "data/gpt2.tokenizer.json.gz", eos: "<|endoftext|>", maxLength: 1024}
	gpt4Builtin = &builtin{file: "data/gpt-4.tokenizer.json.gz", eos: "<|endoftext|>", maxLength: 8192}
)

// builtins maps the names SN9's constraints use (and the Hub's current names for them).
var builtins = map[string]*builtin{
	"gpt2":                  gpt2Builtin,
	"openai-community/gpt2": gpt2Builtin,
	"distilgpt2":            gpt2Builtin, // distilgpt2 ships gpt2's tokenizer files
	"distilbert/distilgpt2": gpt2Builtin,
	"Xenova/gpt-4":          gpt4Builtin,
}

// Builtin reports whether name is a built-in tokenizer name.
func Builtin(name string) bool { _, ok := builtins[name]; return ok }

// Load returns the built-in tokenizer called nameOrPath, or loads one from a model
// directory (its tokenizer.json, tokenizer_config.json and special_tokens_map.json) or
// from a tokenizer.json path (with the config files beside it, if any). Built-ins are
// loaded once and shared.
func Load(nameOrPath string) (*Tokenizer, error) {
	if b, ok := builtins[nameOrPath]; ok {
		b.once.Do(func() { b.tok, b.err = b.load(nameOrPath) })
		return b.tok, b.err
	}
	return loadPath(nameOrPath)
}

// tokenizerJSON returns the built-in's tokenizer.json.
func (b *builtin) tokenizerJSON() ([]byte, error) {
	f, err := builtinFS.Open(b.file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(zr)
}

// tokenizerConfig returns a tokenizer_config.json with the built-in's values, as the Hub
// repositories of these tokenizers have them.
func (b *builtin) tokenizerConfig() []byte {
	out, _ := json.MarshalIndent(map[string]any{
		"add_prefix_space": false,
		"bos_token":        b.eos,
		"eos_token":        b.eos,
		"unk_token":        b.eos,
		"model_max_length": b.maxLength,
		"tokenizer_class":  "GPT2Tokenizer",
	}, "", "  ")
	return out
}

func (b *builtin) load(name string) (*Tokenizer, error) {
	data, err := b.tokenizerJSON()
	if err != nil {
		return nil, fmt.Errorf("load tokenizer %s: %w", name, err)
	}
	t, err := parse(data)
	if err != nil {
		return nil, fmt.Errorf("load tokenizer %s: %w", name, err)
	}
	t.name, t.builtin = name, b
	eos, _ := json.Marshal(b.eos)
	cfg := config{EOS: eos, MaxLength: json.Number(fmt.Sprint(b.maxLength))}
	if err := t.apply(&cfg); err != nil {
		return nil, fmt.Errorf("load tokenizer %s: %w", name, err)
	}
	return t, nil
}

func loadPath(path string) (*Tokenizer, error) {
	dir, file := path, filepath.Join(path, "tokenizer.json")
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("load tokenizer %s: %w", path, err)
	}
	if !st.IsDir() {
		dir, file = filepath.Dir(path), path
	}
	data, err := bounded.ReadFile(file, maxFileBytes)
	if err != nil {
		return nil, fmt.Errorf("load tokenizer %s: %w", path, err)
	}
	t, err := parse(data)
	if err != nil {
		return nil, fmt.Errorf("load tokenizer %s: %w", path, err)
	}
	t.name = path
	t.files = map[string][]byte{"tokenizer.json": data}
	var cfg config
	// transformers reads tokenizer_config.json, then lets special_tokens_map.json override.
	for _, name := range []string{"tokenizer_config.json", "special_tokens_map.json"} {
		raw, err := cfg.read(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("load tokenizer %s: %w", path, err)
		}
		if raw != nil {
			t.files[name] = raw
		}
	}
	if err := t.apply(&cfg); err != nil {
		return nil, fmt.Errorf("load tokenizer %s: %w", path, err)
	}
	return t, nil
}

// config holds the fields of tokenizer_config.json and special_tokens_map.json used here.
type config struct {
	EOS       json.RawMessage `json:"eos_token"`
	Pad       json.RawMessage `json:"pad_token"`
	MaxLength json.Number     `json:"model_max_length"`
}

// read merges the config file at path, if there is one, and returns its bytes.
func (c *config) read(path string) ([]byte, error) {
	data, err := bounded.ReadFile(path, maxConfigBytes)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if err := c.merge(data); err != nil {
		return nil, fmt.Errorf("decode %s: %w", filepath.Base(path), err)
	}
	return data, nil
}

// WriteFiles writes the tokenizer into the directory dir as a Hugging Face model directory
// carries it, so that Load(dir) gives the same tokenizer: tokenizer.json and
// tokenizer_config.json for a built-in; for a tokenizer loaded from files, the files it
// read (tokenizer.json, and tokenizer_config.json and special_tokens_map.json where
// present).
func (t *Tokenizer) WriteFiles(dir string) error {
	files := t.files
	if t.builtin != nil {
		data, err := t.builtin.tokenizerJSON()
		if err != nil {
			return fmt.Errorf("write tokenizer %s: %w", t.name, err)
		}
		files = map[string][]byte{"tokenizer.json": data, "tokenizer_config.json": t.builtin.tokenizerConfig()}
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return fmt.Errorf("write tokenizer %s: %w", t.name, err)
		}
	}
	return nil
}

// merge overlays the fields present in a config file's bytes.
func (c *config) merge(data []byte) error {
	var over config
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	if err := d.Decode(&over); err != nil {
		return err
	}
	if over.EOS != nil {
		c.EOS = over.EOS
	}
	if over.Pad != nil {
		c.Pad = over.Pad
	}
	if over.MaxLength != "" {
		c.MaxLength = over.MaxLength
	}
	return nil
}

// tokenName reads a special token entry: a string, an AddedToken object, or null.
func tokenName(raw json.RawMessage) (string, bool, error) {
	if isNull(raw) {
		return "", false, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, true, nil
	}
	var obj struct {
		Content *string `json:"content"`
	}
	if err := json.Unmarshal(raw, &obj); err != nil || obj.Content == nil {
		return "", false, fmt.Errorf("special token %s: want a string or {\"content\": ...}", bytes.TrimSpace(raw))
	}
	return *obj.Content, true, nil
}

// apply sets EOS, pad and max length from the config values.
func (t *Tokenizer) apply(c *config) error {
	// GPT2TokenizerFast's default eos_token, which both SN9 tokenizers use.
	eos := "<|endoftext|>"
	if name, ok, err := tokenName(c.EOS); err != nil {
		return fmt.Errorf("eos_token: %w", err)
	} else if ok {
		eos = name
	}
	id, ok := t.TokenID(eos)
	if !ok {
		return fmt.Errorf("eos_token %q: not in the vocabulary", eos)
	}
	t.eos, t.pad = id, -1
	if name, ok, err := tokenName(c.Pad); err != nil {
		return fmt.Errorf("pad_token: %w", err)
	} else if ok {
		if t.pad, ok = t.TokenID(name); !ok {
			return fmt.Errorf("pad_token %q: not in the vocabulary", name)
		}
	}
	if c.MaxLength != "" {
		f, err := c.MaxLength.Float64()
		if err != nil || f < 1 {
			return fmt.Errorf("model_max_length %q: want a positive number", c.MaxLength)
		}
		// transformers' "no limit" is int(1e30); anything past int32 cannot bind.
		if f < math.MaxInt32 {
			t.maxLength = int(f)
		}
	}
	return nil
}
