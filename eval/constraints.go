package eval

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"github.com/pretrain/pretrain/competition"
	"github.com/pretrain/pretrain/nn"
	"github.com/pretrain/pretrain/tokenizer"
)

// RejectedError says why a model may not take part in a competition. A rejected model scores
// +Inf; the reason is what operators and miners see.
type RejectedError struct{ Reason string }

func (e *RejectedError) Error() string { return "model rejected: " + e.Reason }

func reject(format string, args ...any) error {
	return &RejectedError{Reason: fmt.Sprintf(format, args...)}
}

// IsRejected reports whether err is (or wraps) a rejection, and returns its reason.
func IsRejected(err error) (string, bool) {
	var r *RejectedError
	if errors.As(err, &r) {
		return r.Reason, true
	}
	return "", false
}

// Facts are what the constraint checks read from a model directory.
type Facts struct {
	Architecture string `json:"architecture"` // the class AutoModelForCausalLM resolves
	Params       int64  `json:"params"`       // sum(p.numel()) over parameters
	Bytes        int64  `json:"bytes"`        // total size of the directory's files
	VocabSize    int    `json:"vocab_size"`
	Positions    int    `json:"max_position_embeddings"`
}

// Inspect reads a model directory's facts: config.json, the safetensors headers (the weights
// stay mapped, unread) and the files' sizes. A directory that nn cannot load is rejected
// with the loader's reason, as from_pretrained's exception makes the reference skip it.
func Inspect(dir string) (Facts, error) {
	size, err := dirBytes(dir)
	if err != nil {
		return Facts{}, err
	}
	m, err := nn.Load(dir)
	if err != nil {
		return Facts{Bytes: size}, reject("cannot load: %v", err)
	}
	defer m.Close()
	return Facts{
		Architecture: m.Architecture(), Params: m.ParamCount(), Bytes: size,
		VocabSize: m.Config.VocabSize, Positions: m.Config.Positions,
	}, nil
}

// dirBytes sums the sizes of the regular files under dir, what the hub counts as the repo's
// size at a commit.
func dirBytes(dir string) (int64, error) {
	var total int64
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			info, err := d.Info()
			if err != nil {
				return err
			}
			total += info.Size()
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("size of %s: %w", dir, err)
	}
	return total, nil
}

// Check applies a competition's constraints to a model's facts (taoverse's ModelUpdater
// checks, plus what would make the reference's evaluation raise and score +Inf):
//   - the architecture is one of the allowed classes (an exact match);
//   - min_model_parameter_size <= params <= max_model_parameter_size;
//   - the repo is at most max_bytes (checked by the reference at download);
//   - the embedding covers the competition tokenizer's ids, and a model with learned
//     positions (GPT-2) covers the sequence length: otherwise the forward indexes out of range.
//
// vocab is the competition tokenizer's vocabulary size (0: unchecked).
func Check(f Facts, c competition.Constraints, vocab int) error {
	switch {
	case !c.AllowsArchitecture(f.Architecture):
		return reject("architecture %s is not allowed (allowed: %v)", f.Architecture, c.Architectures)
	case f.Params < c.MinParams:
		return reject("%d parameters, below the minimum %d", f.Params, c.MinParams)
	case f.Params > c.MaxParams:
		return reject("%d parameters, above the maximum %d", f.Params, c.MaxParams)
	case c.MaxBytes > 0 && f.Bytes > c.MaxBytes:
		return reject("%d bytes, above the limit %d", f.Bytes, c.MaxBytes)
	case vocab > 0 && f.VocabSize < vocab:
		return reject("vocab_size %d does not cover the %s tokenizer's %d ids", f.VocabSize, c.Tokenizer, vocab)
	case f.Architecture == "GPT2LMHeadModel" && c.SequenceLength > 0 && f.Positions < c.SequenceLength:
		return reject("n_positions %d is shorter than the sequence length %d", f.Positions, c.SequenceLength)
	}
	return nil
}

// CheckDir inspects dir and checks it against c with the competition's tokenizer: what a
// miner runs before pushing and a validator after downloading.
func CheckDir(dir string, c competition.Constraints) (Facts, error) {
	f, err := Inspect(dir)
	if err != nil {
		return f, err
	}
	vocab := 0
	if c.Tokenizer != "" && tokenizer.Builtin(c.Tokenizer) {
		tok, err := tokenizer.Load(c.Tokenizer)
		if err != nil {
			return f, err
		}
		vocab = tok.VocabSize()
	}
	return f, Check(f, c, vocab)
}
