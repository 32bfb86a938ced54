package nn

import (
	"encoding/json"
	"fmt"
	"slices"
)

// presets are named model shapes for tests, demos and benchmarks, as config.json contents.
var presets = map[string]map[string]any{
	// GPT-2 small: the 124M shape of the original SN9 competitions.
	"gpt2-124m": {"architectures": []string{"GPT2LMHeadModel"}, "model_type": "gpt2", "vocab_size": 50257,
		"n_embd": 768, "n_layer": 12, "n_head": 12, "n_positions": 1024, "bos_token_id": 50256, "eos_token_id": 50256},
	"gpt2-tiny": {"architectures": []string{"GPT2LMHeadModel"}, "model_type": "gpt2", "vocab_size": 50257,
		"n_embd": 64, "n_layer": 2, "n_head": 4, "n_positions": 1024, "bos_token_id": 50256, "eos_token_id": 50256},
	// Llama shapes with the Xenova/gpt-4 (cl100k) vocabulary size the 3B/14B competitions use.
	"llama-tiny": {"architectures": []string{"LlamaForCausalLM"}, "model_type": "llama", "vocab_size": 100288,
		"hidden_size": 64, "intermediate_size": 172, "num_hidden_layers": 2, "num_attention_heads": 4,
		"num_key_value_heads": 2, "max_position_embeddings": 4096, "rms_norm_eps": 1e-5, "rope_theta": 500000.0,
		"tie_word_embeddings": true, "bos_token_id": 100257, "eos_token_id": 100257},
	"llama-1b": {"architectures": []string{"LlamaForCausalLM"}, "model_type": "llama", "vocab_size": 100288,
		"hidden_size": 2048, "intermediate_size": 8192, "num_hidden_layers": 16, "num_attention_heads": 32,
		"num_key_value_heads": 8, "max_position_embeddings": 4096, "rms_norm_eps": 1e-5, "rope_theta": 500000.0,
		"tie_word_embeddings": true, "bos_token_id": 100257, "eos_token_id": 100257},
	// B3-competition shape (3.2B to 3.4B parameters): Llama-3.2-3B's layout with the gpt-4
	// vocabulary and an MLP of 8960, 3,325,012,992 parameters.
	"llama-3b": {"architectures": []string{"LlamaForCausalLM"}, "model_type": "llama", "vocab_size": 100288,
		"hidden_size": 3072, "intermediate_size": 8960, "num_hidden_layers": 28, "num_attention_heads": 24,
		"num_key_value_heads": 8, "max_position_embeddings": 4096, "rms_norm_eps": 1e-5, "rope_theta": 500000.0,
		"tie_word_embeddings": true, "bos_token_id": 100257, "eos_token_id": 100257},
}

// Presets lists the preset names.
func Presets() []string {
	var out []string
	for n := range presets {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// Preset returns a named shape's config.json bytes and parsed config.
func Preset(name string) ([]byte, *Config, error) {
	p, ok := presets[name]
	if !ok {
		return nil, nil, fmt.Errorf("preset %q unknown (known: %v)", name, Presets())
	}
	raw, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return nil, nil, fmt.Errorf("preset %s: %w", name, err)
	}
	c, err := ParseConfig(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("preset %s: %w", name, err)
	}
	return raw, c, nil
}
