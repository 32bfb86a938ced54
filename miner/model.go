package miner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/pretrain/pretrain/internal/atomicfile"
	"github.com/pretrain/pretrain/nn"
	"github.com/pretrain/pretrain/tokenizer"
)

// InitConfig describes a fresh model directory.
type InitConfig struct {
	Arch   string // "gpt2" or "llama": the family the preset must belong to
	Preset string // an nn preset, e.g. gpt2-tiny
	DType  string // weight dtype: "F32" (default), "BF16" or "F16"
	Seed   uint64
	// Tokenizer is the tokenizer name or directory whose files go into the model directory
	// (default: gpt2 for gpt2, Xenova/gpt-4 for llama, as the trainer's).
	Tokenizer string
}

// DefaultTokenizer is the tokenizer a family's models use unless told otherwise: gpt2's for
// GPT-2 (the local competition's), Xenova/gpt-4 for the Llama family (SN9's 3B and 14B).
func DefaultTokenizer(arch string) string {
	if arch == "gpt2" {
		return "gpt2"
	}
	return "Xenova/gpt-4"
}

// InitModel writes a preset shape with random weights and its tokenizer's files as a complete
// Hugging Face model directory at dir, which must not exist; it is built beside dir and
// renamed into place, so dir is never half written. It returns the parameter count.
func InitModel(dir string, c InitConfig) (int64, error) {
	fail := func(err error) (int64, error) { return 0, fmt.Errorf("init model %s: %w", dir, err) }
	_, cfg, err := nn.Preset(c.Preset)
	if err != nil {
		return fail(err)
	}
	fam := family(cfg)
	if c.Arch != "" && c.Arch != fam {
		return fail(fmt.Errorf("preset %s is a %s model, not %s", c.Preset, fam, c.Arch))
	}
	c.Arch = fam
	if _, err := os.Lstat(dir); err == nil {
		return fail(errors.New("already exists"))
	}
	tokName := c.Tokenizer
	if tokName == "" {
		tokName = DefaultTokenizer(c.Arch)
	}
	tok, err := tokenizer.Load(tokName)
	if err != nil {
		return fail(err)
	}
	if tok.VocabSize() > cfg.VocabSize {
		return fail(fmt.Errorf("tokenizer %s has %d tokens, over the model's vocabulary of %d", tokName, tok.VocabSize(), cfg.VocabSize))
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "."+filepath.Base(dir)+".tmp-")
	if err != nil {
		return fail(err)
	}
	defer os.RemoveAll(tmp)
	dtype := c.DType
	if dtype == "" {
		dtype = "F32"
	}
	params, err := nn.InitModelDir(tmp, c.Preset, dtype, c.Seed)
	if err != nil {
		return fail(err)
	}
	if err := tok.WriteFiles(tmp); err != nil {
		return fail(err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil { // MkdirTemp's directory is private
		return fail(err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return fail(err)
	}
	_ = atomicfile.SyncDir(filepath.Dir(dir)) // dir is complete; a failed sync only makes the rename less durable
	return params, nil
}

// family is "gpt2" for GPT-2 configs and "llama" for the Llama family (Llama, Mistral, Qwen2).
func family(c *nn.Config) string {
	if c.ModelType == "gpt2" {
		return "gpt2"
	}
	return "llama"
}

// Generation is a prompt's continuation.
type Generation struct {
	PromptIDs []int32 `json:"prompt_ids"`
	IDs       []int32 `json:"ids"`  // the new tokens
	Text      string  `json:"text"` // their decoding
}

// Generate continues prompt as the notebook's inference cell does: tokenize (no truncation,
// no BOS, as tokenizer(prompt) for these tokenizers), generate with the model's
// generation_config (greedy unless it samples), decode the new tokens.
func Generate(ctx context.Context, m *nn.Model, tok *tokenizer.Tokenizer, prompt string, opts nn.GenerateOptions) (*Generation, error) {
	ids := tok.Encode(prompt, false)
	if len(ids) == 0 {
		return nil, errors.New("generate: the prompt has no tokens")
	}
	return GenerateIDs(ctx, m, tok, ids, opts)
}

// GenerateIDs continues a prompt given as token ids and decodes the new tokens.
func GenerateIDs(ctx context.Context, m *nn.Model, tok *tokenizer.Tokenizer, ids []int32, opts nn.GenerateOptions) (*Generation, error) {
	if len(ids)+opts.MaxNewTokens > m.Config.Positions && family(m.Config) == "gpt2" {
		return nil, fmt.Errorf("generate: %d prompt and %d new tokens exceed the model's %d positions", len(ids), opts.MaxNewTokens, m.Config.Positions)
	}
	out, err := m.Generate(ctx, ids, opts)
	if err != nil {
		return nil, err
	}
	return &Generation{PromptIDs: ids, IDs: out, Text: string(tok.Decode(out))}, nil
}
