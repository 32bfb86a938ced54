package nn

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"

	"github.com/pretrain/pretrain/internal/bounded"
)

// Bounds on config.json values: far above any model the subnet allows, low enough that
// arithmetic on them cannot overflow and a hostile config cannot ask for absurd memory.
const (
	maxConfigBytes = 1 << 20
	maxVocab       = 1 << 22
	maxHidden      = 1 << 16
	maxLayers      = 1 << 10
	maxHeads       = 1 << 10
	maxIntermed    = 1 << 18
	maxPositions   = 1 << 20
)

// ErrUnsupportedArchitecture is returned for a config.json whose architecture nn cannot run.
var ErrUnsupportedArchitecture = errors.New("unsupported architecture")

// ErrConfig marks an invalid config.json.
var ErrConfig = errors.New("invalid config")

// Config is the subset of a Hugging Face config.json the supported architectures read, with
// the transformers defaults filled in by [ParseConfig]. Field comments give the GPT-2 name
// where it differs.
type Config struct {
	Architectures []string `json:"architectures"`
	ModelType     string   `json:"model_type"`
	VocabSize     int      `json:"vocab_size"`
	TieEmbeddings bool     `json:"-"` // tie_word_embeddings, default per model type

	Hidden      int     `json:"-"` // hidden_size / n_embd
	Layers      int     `json:"-"` // num_hidden_layers / n_layer
	Heads       int     `json:"-"` // num_attention_heads / n_head
	KVHeads     int     `json:"-"` // num_key_value_heads (= Heads when absent)
	HeadDim     int     `json:"-"` // head_dim (= Hidden/Heads when absent)
	Intermed    int     `json:"-"` // intermediate_size / n_inner (GPT-2: 4*n_embd when null)
	Positions   int     `json:"-"` // max_position_embeddings / n_positions
	NormEps     float64 `json:"-"` // rms_norm_eps / layer_norm_epsilon
	Activation  string  `json:"-"` // hidden_act / activation_function
	RopeTheta   float64 `json:"-"`
	RopeScaling *RopeScaling
	// Attention and MLP biases (Llama attention_bias, mlp_bias; always q/k/v for Qwen2).
	QKVBias, OBias, MLPBias bool
	// GPT-2 attention scaling switches.
	ScaleAttnWeights, ScaleAttnByInverseLayerIdx bool
	// SlidingWindow is the attention window when one applies (0: none).
	SlidingWindow int

	EOSTokenIDs []int `json:"-"`
	BOSTokenID  *int  `json:"-"`
	TorchDType  string
}

// RopeScaling is config.json's rope_scaling for the types nn supports.
type RopeScaling struct {
	Type                          string  // "linear" or "llama3"
	Factor                        float64 // both
	LowFreqFactor, HighFreqFactor float64 // llama3
	OriginalMaxPositions          int     // llama3
}

// unsupportedArchitectures are SN9-allowed architectures (the allowed architectures of the
// reference's constants/__init__.py) that nn does not run yet; each would be one more file like
// llama.go.
var unsupportedArchitectures = []string{
	"GPTNeoXForCausalLM", "FalconForCausalLM", "PhiForCausalLM", "GemmaForCausalLM",
	"Gemma2ForCausalLM", "BartForCausalLM", "GPTJForCausalLM",
}

// causalLMClass is the class AutoModelForCausalLM instantiates for a config.json model_type
// (transformers' MODEL_FOR_CAUSAL_LM_MAPPING_NAMES), for the model types SN9 allows. The
// reference checks that class against a competition's architectures; config.json's
// "architectures" list plays no part in it.
var causalLMClass = map[string]string{
	"gpt2": "GPT2LMHeadModel", "llama": "LlamaForCausalLM", "mistral": "MistralForCausalLM",
	"qwen2": "Qwen2ForCausalLM", "gpt_neox": "GPTNeoXForCausalLM", "falcon": "FalconForCausalLM",
	"phi": "PhiForCausalLM", "gemma": "GemmaForCausalLM", "gemma2": "Gemma2ForCausalLM",
	"bart": "BartForCausalLM", "gptj": "GPTJForCausalLM",
}

// LoadConfig reads dir/config.json.
func LoadConfig(dir string) (*Config, error) {
	raw, err := bounded.ReadFile(filepath.Join(dir, "config.json"), maxConfigBytes)
	if err != nil {
		return nil, fmt.Errorf("load config %s: %w", dir, err)
	}
	c, err := ParseConfig(raw)
	if err != nil {
		return nil, fmt.Errorf("load config %s: %w", dir, err)
	}
	return c, nil
}

// rawConfig holds every key nn reads, under both naming schemes.
type rawConfig struct {
	Architectures []string        `json:"architectures"`
	ModelType     string          `json:"model_type"`
	VocabSize     *int64          `json:"vocab_size"`
	Tie           *bool           `json:"tie_word_embeddings"`
	TorchDType    *string         `json:"torch_dtype"`
	EOS           json.RawMessage `json:"eos_token_id"`
	BOSTokenID    json.RawMessage `json:"bos_token_id"`

	// GPT-2 names.
	NEmbd         *int64   `json:"n_embd"`
	NLayer        *int64   `json:"n_layer"`
	NHead         *int64   `json:"n_head"`
	NInner        *int64   `json:"n_inner"`
	NPositions    *int64   `json:"n_positions"`
	LNEps         *float64 `json:"layer_norm_epsilon"`
	ActFn         *string  `json:"activation_function"`
	ScaleAttn     *bool    `json:"scale_attn_weights"`
	ScaleInvLayer *bool    `json:"scale_attn_by_inverse_layer_idx"`

	// Llama-family names.
	HiddenSize       *int64          `json:"hidden_size"`
	NumLayers        *int64          `json:"num_hidden_layers"`
	NumHeads         *int64          `json:"num_attention_heads"`
	NumKVHeads       *int64          `json:"num_key_value_heads"`
	HeadDim          *int64          `json:"head_dim"`
	Intermediate     *int64          `json:"intermediate_size"`
	MaxPositions     *int64          `json:"max_position_embeddings"`
	RMSEps           *float64        `json:"rms_norm_eps"`
	HiddenAct        *string         `json:"hidden_act"`
	RopeTheta        *float64        `json:"rope_theta"`
	RopeScaling      json.RawMessage `json:"rope_scaling"`
	AttnBias         *bool           `json:"attention_bias"`
	MLPBias          *bool           `json:"mlp_bias"`
	SlidingWindow    *int64          `json:"sliding_window"`
	UseSlidingWindow *bool           `json:"use_sliding_window"`
}

// ParseConfig parses and validates config.json, filling transformers' defaults for the
// model type.
func ParseConfig(raw []byte) (*Config, error) {
	if len(raw) > maxConfigBytes {
		return nil, fmt.Errorf("%w: %d bytes exceed %d", ErrConfig, len(raw), maxConfigBytes)
	}
	var r rawConfig
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	var arch string
	switch {
	case r.ModelType != "":
		cls, ok := causalLMClass[r.ModelType]
		if !ok {
			return nil, fmt.Errorf("%w: model_type %q (supported: %v)", ErrUnsupportedArchitecture, r.ModelType, SupportedArchitectures())
		}
		arch = cls
	case len(r.Architectures) > 0:
		// Without model_type transformers guesses the type from the repository's name; a
		// config written without it is taken at its declared class instead.
		arch = r.Architectures[0]
	default:
		return nil, fmt.Errorf("%w: neither model_type nor architectures is set", ErrConfig)
	}
	// Architectures[0] is from here on the class transformers would instantiate.
	c := &Config{Architectures: []string{arch}, ModelType: r.ModelType}
	if slices.Contains(unsupportedArchitectures, arch) {
		return nil, fmt.Errorf("%w: %s (supported: %v)", ErrUnsupportedArchitecture, arch, SupportedArchitectures())
	}
	a, ok := archByName[arch]
	if !ok {
		return nil, fmt.Errorf("%w: %q (supported: %v)", ErrUnsupportedArchitecture, arch, SupportedArchitectures())
	}
	c.ModelType = a.modelType
	if r.TorchDType != nil {
		c.TorchDType = *r.TorchDType
	}
	var err error
	if c.EOSTokenIDs, err = parseTokenIDs(r.EOS); err != nil {
		return nil, fmt.Errorf("%w: eos_token_id: %v", ErrConfig, err)
	}
	if bos, err := parseTokenIDs(r.BOSTokenID); err != nil {
		return nil, fmt.Errorf("%w: bos_token_id: %v", ErrConfig, err)
	} else if len(bos) > 0 {
		c.BOSTokenID = &bos[0]
	}
	if err := a.parse(c, &r); err != nil {
		return nil, err
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// intField reads a required (def < 0) or defaulted positive integer within [1, max].
func intField(name string, v *int64, def int64, max int64) (int, error) {
	if v == nil {
		if def < 0 {
			return 0, fmt.Errorf("%w: %s is missing", ErrConfig, name)
		}
		return int(def), nil
	}
	if *v < 1 || *v > max {
		return 0, fmt.Errorf("%w: %s = %d outside [1, %d]", ErrConfig, name, *v, max)
	}
	return int(*v), nil
}

func floatField(name string, v *float64, def float64) (float64, error) {
	if v == nil {
		return def, nil
	}
	if math.IsNaN(*v) || math.IsInf(*v, 0) || *v < 0 {
		return 0, fmt.Errorf("%w: %s = %v is not a finite non-negative number", ErrConfig, name, *v)
	}
	return *v, nil
}

func parseTokenIDs(raw json.RawMessage) ([]int, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var one int64
	if err := json.Unmarshal(raw, &one); err == nil {
		if one < 0 || one > maxVocab {
			return nil, fmt.Errorf("%d out of range", one)
		}
		return []int{int(one)}, nil
	}
	var many []int64
	if err := json.Unmarshal(raw, &many); err != nil {
		return nil, fmt.Errorf("want an integer or a list of integers")
	}
	if len(many) > 1024 {
		return nil, fmt.Errorf("%d ids exceed 1024", len(many))
	}
	out := make([]int, len(many))
	for i, v := range many {
		if v < 0 || v > maxVocab {
			return nil, fmt.Errorf("%d out of range", v)
		}
		out[i] = int(v)
	}
	return out, nil
}

func (c *Config) validate() error {
	if c.Hidden%c.Heads != 0 && c.HeadDim == 0 {
		return fmt.Errorf("%w: hidden size %d is not a multiple of %d heads", ErrConfig, c.Hidden, c.Heads)
	}
	if c.HeadDim == 0 {
		c.HeadDim = c.Hidden / c.Heads
	}
	if c.HeadDim%2 != 0 && c.ModelType != "gpt2" {
		return fmt.Errorf("%w: head_dim %d must be even for rotary embeddings", ErrConfig, c.HeadDim)
	}
	if c.HeadDim*c.Heads > maxHidden*4 {
		return fmt.Errorf("%w: head_dim %d x %d heads too large", ErrConfig, c.HeadDim, c.Heads)
	}
	if c.KVHeads == 0 {
		c.KVHeads = c.Heads
	}
	if c.KVHeads > c.Heads || c.Heads%c.KVHeads != 0 {
		return fmt.Errorf("%w: %d attention heads are not a multiple of %d key/value heads", ErrConfig, c.Heads, c.KVHeads)
	}
	for _, id := range c.EOSTokenIDs {
		if id >= c.VocabSize {
			return fmt.Errorf("%w: eos_token_id %d outside vocab_size %d", ErrConfig, id, c.VocabSize)
		}
	}
	if _, ok := activations[c.Activation]; !ok {
		return fmt.Errorf("%w: activation %q not supported (supported: %v)", ErrConfig, c.Activation, activationNames())
	}
	return nil
}

// parseRopeScaling accepts null, {"type"|"rope_type": "default"}, linear and llama3.
func parseRopeScaling(raw json.RawMessage) (*RopeScaling, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var r struct {
		Type      string   `json:"type"`
		RopeType  string   `json:"rope_type"`
		Factor    *float64 `json:"factor"`
		Low       *float64 `json:"low_freq_factor"`
		High      *float64 `json:"high_freq_factor"`
		OrigMaxPo *int64   `json:"original_max_position_embeddings"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("%w: rope_scaling: %v", ErrConfig, err)
	}
	typ := r.RopeType
	if typ == "" {
		typ = r.Type // transformers accepts the legacy key
	}
	s := &RopeScaling{Type: typ}
	finite := func(name string, v *float64, min float64) (float64, error) {
		if v == nil || math.IsNaN(*v) || math.IsInf(*v, 0) || *v < min {
			return 0, fmt.Errorf("%w: rope_scaling.%s must be a number >= %v", ErrConfig, name, min)
		}
		return *v, nil
	}
	var err error
	switch typ {
	case "default":
		return nil, nil
	case "linear":
		if s.Factor, err = finite("factor", r.Factor, 1); err != nil {
			return nil, err
		}
	case "llama3":
		if s.Factor, err = finite("factor", r.Factor, 1); err != nil {
			return nil, err
		}
		if s.LowFreqFactor, err = finite("low_freq_factor", r.Low, 1e-9); err != nil {
			return nil, err
		}
		if s.HighFreqFactor, err = finite("high_freq_factor", r.High, 1e-9); err != nil {
			return nil, err
		}
		if s.HighFreqFactor <= s.LowFreqFactor {
			return nil, fmt.Errorf("%w: rope_scaling high_freq_factor must exceed low_freq_factor", ErrConfig)
		}
		if r.OrigMaxPo == nil || *r.OrigMaxPo < 1 || *r.OrigMaxPo > maxPositions {
			return nil, fmt.Errorf("%w: rope_scaling.original_max_position_embeddings missing or out of range", ErrConfig)
		}
		s.OriginalMaxPositions = int(*r.OrigMaxPo)
	default:
		return nil, fmt.Errorf("%w: rope_scaling type %q (supported: default, linear, llama3)", ErrUnsupportedArchitecture, typ)
	}
	return s, nil
}

// GenerationConfig is the subset of generation_config.json that changes decoding.
type GenerationConfig struct {
	// DoSample, Temperature, TopK and TopP select multinomial sampling as transformers does;
	// the defaults are transformers' (greedy; 1.0, 50, 1.0 when sampling).
	DoSample          bool
	Temperature       float64
	TopK              int
	TopP              float64
	RepetitionPenalty float64
	NoRepeatNGramSize int
	NumBeams          int
	EOSTokenIDs       []int
}

// LoadGenerationConfig reads dir/generation_config.json; a missing file gives the defaults
// (greedy, no penalty, EOS from config.json), as transformers derives them.
func LoadGenerationConfig(dir string, c *Config) (*GenerationConfig, error) {
	g := defaultGeneration(c)
	raw, err := bounded.ReadFile(filepath.Join(dir, "generation_config.json"), maxConfigBytes)
	if errors.Is(err, os.ErrNotExist) {
		return g, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load generation config %s: %w", dir, err)
	}
	if err := parseGenerationConfig(raw, c, g); err != nil {
		return nil, fmt.Errorf("load generation config %s: %w", dir, err)
	}
	return g, nil
}

// defaultGeneration is transformers' GenerationConfig for a model without
// generation_config.json.
func defaultGeneration(c *Config) *GenerationConfig {
	return &GenerationConfig{Temperature: 1, TopK: 50, TopP: 1, RepetitionPenalty: 1, EOSTokenIDs: c.EOSTokenIDs}
}

func parseGenerationConfig(raw []byte, c *Config, g *GenerationConfig) error {
	var r struct {
		DoSample  *bool           `json:"do_sample"`
		Temp      *float64        `json:"temperature"`
		TopK      *int64          `json:"top_k"`
		TopP      *float64        `json:"top_p"`
		RepPen    *float64        `json:"repetition_penalty"`
		EOS       json.RawMessage `json:"eos_token_id"`
		NumBeams  *int64          `json:"num_beams"`
		NoRepeatN *int64          `json:"no_repeat_ngram_size"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return fmt.Errorf("%w: generation_config: %v", ErrConfig, err)
	}
	if r.DoSample != nil {
		g.DoSample = *r.DoSample
	}
	// Out-of-range values load (the reference loads them too) and fail at generation, when
	// transformers' warpers would raise.
	if r.Temp != nil {
		g.Temperature = *r.Temp
	}
	if r.TopK != nil {
		g.TopK = int(max(min(*r.TopK, 1<<30), -1))
	}
	if r.TopP != nil {
		g.TopP = *r.TopP
	}
	if r.RepPen != nil {
		if math.IsNaN(*r.RepPen) || math.IsInf(*r.RepPen, 0) || *r.RepPen <= 0 {
			return fmt.Errorf("%w: repetition_penalty %v must be a positive number", ErrConfig, *r.RepPen)
		}
		g.RepetitionPenalty = *r.RepPen
	}
	if r.NumBeams != nil && *r.NumBeams > 1 {
		if *r.NumBeams > 1024 {
			return fmt.Errorf("%w: num_beams %d out of range", ErrConfig, *r.NumBeams)
		}
		g.NumBeams = int(*r.NumBeams) // Generate refuses beam search; loss evaluation does not care
	}
	if r.NoRepeatN != nil && *r.NoRepeatN > 0 {
		if *r.NoRepeatN > 1<<16 {
			return fmt.Errorf("%w: no_repeat_ngram_size %d out of range", ErrConfig, *r.NoRepeatN)
		}
		g.NoRepeatNGramSize = int(*r.NoRepeatN)
	}
	if len(r.EOS) > 0 && string(r.EOS) != "null" {
		ids, err := parseTokenIDs(r.EOS)
		if err != nil {
			return fmt.Errorf("%w: generation_config eos_token_id: %v", ErrConfig, err)
		}
		for _, id := range ids {
			if id >= c.VocabSize {
				return fmt.Errorf("%w: generation_config eos_token_id %d outside vocab_size %d", ErrConfig, id, c.VocabSize)
			}
		}
		g.EOSTokenIDs = ids
	}
	return nil
}
