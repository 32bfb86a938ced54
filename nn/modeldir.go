package nn

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// WriteModelDir writes a loadable Hugging Face model directory: config.json (configJSON as
// given), model.safetensors and, when the config has EOS ids, a greedy
// generation_config.json. Tokenizer files are the tokenizer package's business.
func WriteModelDir(dir string, configJSON []byte, cfg *Config, tensors []Tensor) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write model %s: %w", dir, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), configJSON, 0o644); err != nil {
		return fmt.Errorf("write model %s: %w", dir, err)
	}
	gen := map[string]any{"_from_model_config": true}
	if cfg.BOSTokenID != nil {
		gen["bos_token_id"] = *cfg.BOSTokenID
	}
	if len(cfg.EOSTokenIDs) == 1 {
		gen["eos_token_id"] = cfg.EOSTokenIDs[0]
	} else if len(cfg.EOSTokenIDs) > 1 {
		gen["eos_token_id"] = cfg.EOSTokenIDs
	}
	g, _ := json.MarshalIndent(gen, "", "  ") // ints and a bool: cannot fail
	if err := os.WriteFile(filepath.Join(dir, "generation_config.json"), g, 0o644); err != nil {
		return fmt.Errorf("write model %s: %w", dir, err)
	}
	return WriteSafetensorsFile(filepath.Join(dir, SafetensorsFile), tensors, map[string]string{"format": "pt"})
}

// InitModelDir writes a preset shape with random weights (dtype "F32", "BF16" or "F16")
// as a model directory, and returns the number of parameters.
func InitModelDir(dir, preset, dtype string, seed uint64) (int64, error) {
	raw, cfg, err := Preset(preset)
	if err != nil {
		return 0, err
	}
	m, tensors, err := InitRandom(cfg, dtype, seed)
	if err != nil {
		return 0, err
	}
	if err := WriteModelDir(dir, raw, cfg, tensors); err != nil {
		return 0, err
	}
	return m.ParamCount(), nil
}
