package nn

import (
	"context"
	"fmt"
	"math"

	"github.com/pretrain/pretrain/nn/kernels"
)

// The Llama family (transformers' LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM):
// RMSNorm pre-norm blocks, rotary position embeddings (rotate-half), grouped-query attention,
// SwiGLU MLP, tied or untied output embedding. The three differ only in defaults and biases.

func init() {
	register(&arch{name: "LlamaForCausalLM", modelType: "llama", parse: llamaParser(llamaDefaults), build: buildLlama})
	register(&arch{name: "MistralForCausalLM", modelType: "mistral", parse: llamaParser(mistralDefaults), build: buildLlama})
	register(&arch{name: "Qwen2ForCausalLM", modelType: "qwen2", parse: llamaParser(qwen2Defaults), build: buildLlama})
}

// llamaDefaults are a config class's defaults for absent keys.
type llamaFamily struct {
	vocab, hidden, intermed, layers, heads, kvHeads, positions int64
	eps                                                        float64
	qkvBias                                                    bool // Qwen2 always has q/k/v biases
}

var (
	llamaDefaults   = llamaFamily{32000, 4096, 11008, 32, 32, 0, 2048, 1e-6, false}
	mistralDefaults = llamaFamily{32000, 4096, 14336, 32, 32, 8, 4096 * 32, 1e-6, false}
	qwen2Defaults   = llamaFamily{151936, 4096, 22016, 32, 32, 32, 32768, 1e-6, true}
)

func llamaParser(f llamaFamily) func(c *Config, r *rawConfig) error {
	return func(c *Config, r *rawConfig) error {
		var err error
		fields := []struct {
			dst  *int
			name string
			v    *int64
			def  int64
			max  int64
		}{
			{&c.VocabSize, "vocab_size", r.VocabSize, f.vocab, maxVocab},
			{&c.Hidden, "hidden_size", r.HiddenSize, f.hidden, maxHidden},
			{&c.Intermed, "intermediate_size", r.Intermediate, f.intermed, maxIntermed},
			{&c.Layers, "num_hidden_layers", r.NumLayers, f.layers, maxLayers},
			{&c.Heads, "num_attention_heads", r.NumHeads, f.heads, maxHeads},
			{&c.Positions, "max_position_embeddings", r.MaxPositions, f.positions, maxPositions},
		}
		for _, fl := range fields {
			if *fl.dst, err = intField(fl.name, fl.v, fl.def, fl.max); err != nil {
				return err
			}
		}
		kvDef := f.kvHeads
		if r.NumKVHeads == nil || kvDef == 0 {
			kvDef = int64(c.Heads)
		}
		if c.KVHeads, err = intField("num_key_value_heads", r.NumKVHeads, kvDef, maxHeads); err != nil {
			return err
		}
		if r.HeadDim != nil {
			if c.HeadDim, err = intField("head_dim", r.HeadDim, 0, 4096); err != nil {
				return err
			}
		}
		if c.NormEps, err = floatField("rms_norm_eps", r.RMSEps, f.eps); err != nil {
			return err
		}
		if c.RopeTheta, err = floatField("rope_theta", r.RopeTheta, 10000); err != nil {
			return err
		}
		if c.RopeTheta <= 1 {
			return fmt.Errorf("%w: rope_theta %v must exceed 1", ErrConfig, c.RopeTheta)
		}
		if c.RopeScaling, err = parseRopeScaling(r.RopeScaling); err != nil {
			return err
		}
		c.Activation = "silu"
		if r.HiddenAct != nil {
			c.Activation = *r.HiddenAct
		}
		if c.Activation != "silu" && c.Activation != "swish" {
			return fmt.Errorf("%w: hidden_act %q (the Llama family here supports silu)", ErrConfig, c.Activation)
		}
		c.TieEmbeddings = r.Tie != nil && *r.Tie // these config classes default to untied
		c.QKVBias = f.qkvBias || (r.AttnBias != nil && *r.AttnBias)
		c.OBias = !f.qkvBias && r.AttnBias != nil && *r.AttnBias
		c.MLPBias = r.MLPBias != nil && *r.MLPBias
		switch c.ModelType {
		case "mistral":
			if r.SlidingWindow != nil {
				if c.SlidingWindow, err = intField("sliding_window", r.SlidingWindow, 0, maxPositions); err != nil {
					return err
				}
			}
		case "qwen2":
			if r.UseSlidingWindow != nil && *r.UseSlidingWindow && r.SlidingWindow != nil {
				if c.SlidingWindow, err = intField("sliding_window", r.SlidingWindow, 0, maxPositions); err != nil {
					return err
				}
			}
		}
		return nil
	}
}

type llamaLayer struct {
	attnNorm, mlpNorm []float32
	wq, wk, wv, wo    kernels.Mat
	bq, bk, bv, bo    []float32
	gate, up, down    kernels.Mat
	gateB, upB, downB []float32
}

type llama struct {
	cfg     *Config
	embed   kernels.Mat
	lmHead  kernels.Mat
	layers  []llamaLayer
	norm    []float32
	invFreq []float32
}

func buildLlama(c *Config, w *weightSet) (network, error) {
	d, hd, I := c.Hidden, c.HeadDim, c.Intermed
	qDim, kvDim := c.Heads*hd, c.KVHeads*hd
	m := &llama{cfg: c, invFreq: ropeInvFreq(c)}
	var err error
	load := func(dst *kernels.Mat, name string, rows, cols int) {
		if err == nil {
			*dst, err = w.mat(name, rows, cols)
		}
	}
	loadVec := func(dst *[]float32, name string, n int, want bool) {
		if err == nil && want {
			*dst, err = w.vec(name, n)
		}
	}
	load(&m.embed, "model.embed_tokens.weight", c.VocabSize, d)
	for l := range c.Layers {
		var L llamaLayer
		p := fmt.Sprintf("model.layers.%d.", l)
		loadVec(&L.attnNorm, p+"input_layernorm.weight", d, true)
		loadVec(&L.mlpNorm, p+"post_attention_layernorm.weight", d, true)
		load(&L.wq, p+"self_attn.q_proj.weight", qDim, d)
		load(&L.wk, p+"self_attn.k_proj.weight", kvDim, d)
		load(&L.wv, p+"self_attn.v_proj.weight", kvDim, d)
		load(&L.wo, p+"self_attn.o_proj.weight", d, qDim)
		loadVec(&L.bq, p+"self_attn.q_proj.bias", qDim, c.QKVBias)
		loadVec(&L.bk, p+"self_attn.k_proj.bias", kvDim, c.QKVBias)
		loadVec(&L.bv, p+"self_attn.v_proj.bias", kvDim, c.QKVBias)
		loadVec(&L.bo, p+"self_attn.o_proj.bias", d, c.OBias)
		load(&L.gate, p+"mlp.gate_proj.weight", I, d)
		load(&L.up, p+"mlp.up_proj.weight", I, d)
		load(&L.down, p+"mlp.down_proj.weight", d, I)
		loadVec(&L.gateB, p+"mlp.gate_proj.bias", I, c.MLPBias)
		loadVec(&L.upB, p+"mlp.up_proj.bias", I, c.MLPBias)
		loadVec(&L.downB, p+"mlp.down_proj.bias", d, c.MLPBias)
		m.layers = append(m.layers, L)
	}
	loadVec(&m.norm, "model.norm.weight", d, true)
	if c.TieEmbeddings {
		m.lmHead = m.embed
	} else {
		load(&m.lmHead, "lm_head.weight", c.VocabSize, d)
	}
	if err != nil {
		return nil, err
	}
	return m, nil
}

// ropeInvFreq computes the rotary inverse frequencies in float32 as transformers does:
// 1/θ^(2i/dim), then the config's scaling (linear divides by factor; llama3 rescales low
// frequencies and interpolates the middle band).
func ropeInvFreq(c *Config) []float32 {
	dim := c.HeadDim
	inv := make([]float32, dim/2)
	for i := range inv {
		e := float32(2*i) / float32(dim)
		inv[i] = 1 / float32(math.Pow(c.RopeTheta, float64(e)))
	}
	s := c.RopeScaling
	if s == nil {
		return inv
	}
	switch s.Type {
	case "linear":
		for i := range inv {
			inv[i] /= float32(s.Factor)
		}
	case "llama3":
		old := float64(s.OriginalMaxPositions)
		lowWavelen := old / s.LowFreqFactor
		highWavelen := old / s.HighFreqFactor
		for i, f := range inv {
			wavelen := 2 * math.Pi / float64(f)
			switch {
			case wavelen > lowWavelen:
				inv[i] = float32(float64(f) / s.Factor)
			case wavelen < highWavelen:
			default:
				smooth := (old/wavelen - s.LowFreqFactor) / (s.HighFreqFactor - s.LowFreqFactor)
				inv[i] = float32((1-smooth)*float64(f)/s.Factor + smooth*float64(f))
			}
		}
	}
	return inv
}

func (m *llama) head() kernels.Mat { return m.lmHead }

func (m *llama) forward(ctx context.Context, ids []int32, cache *KVCache, out []float32) error {
	c := m.cfg
	n, d, hd, I := len(ids), c.Hidden, c.HeadDim, c.Intermed
	qDim, kvDim := c.Heads*hd, c.KVHeads*hd
	if err := checkIDs(ids, c.VocabSize); err != nil {
		return err
	}
	pos0 := 0
	if cache != nil {
		pos0 = cache.n
	}
	if c.SlidingWindow > 0 && pos0+n > c.SlidingWindow {
		// The reference's flash-attention window semantics are not reproduced yet.
		return fmt.Errorf("%w: %d positions exceed sliding_window %d", ErrUnsupportedArchitecture, pos0+n, c.SlidingWindow)
	}
	// Rotary tables for the new positions: angle = float32(pos)·inv_freq in float32.
	half := hd / 2
	cos := make([]float32, n*half)
	sin := make([]float32, n*half)
	for i := range n {
		for j, f := range m.invFreq {
			a := float64(float32(pos0+i) * f)
			cos[i*half+j] = float32(math.Cos(a))
			sin[i*half+j] = float32(math.Sin(a))
		}
	}
	x := out[:n*d]
	embed(x, m.embed, ids)
	h := make([]float32, n*d)
	q := make([]float32, n*qDim)
	att := make([]float32, n*qDim)
	gate := make([]float32, n*I)
	up := make([]float32, n*I)
	var scratchK, scratchV []float32
	if cache == nil {
		scratchK, scratchV = make([]float32, n*kvDim), make([]float32, n*kvDim)
	}
	eps := float32(c.NormEps)
	scale := float32(1 / math.Sqrt(float64(hd)))
	for l, L := range m.layers {
		if err := ctx.Err(); err != nil {
			return err
		}
		copy(h, x)
		for i := range n {
			kernels.RMSNorm(h[i*d:(i+1)*d], L.attnNorm, eps)
		}
		K, V, _, err := layerKV(cache, l, n, scratchK, scratchV)
		if err != nil {
			return err
		}
		kNew, vNew := K[pos0*kvDim:(pos0+n)*kvDim], V[pos0*kvDim:(pos0+n)*kvDim]
		linear(q, h, n, L.wq, L.bq)
		linear(kNew, h, n, L.wk, L.bk)
		linear(vNew, h, n, L.wv, L.bv)
		for i := range n {
			cs, sn := cos[i*half:(i+1)*half], sin[i*half:(i+1)*half]
			for hh := range c.Heads {
				kernels.RoPE(q[i*qDim+hh*hd:i*qDim+(hh+1)*hd], cs, sn)
			}
			for hh := range c.KVHeads {
				kernels.RoPE(kNew[i*kvDim+hh*hd:i*kvDim+(hh+1)*hd], cs, sn)
			}
		}
		a := kernels.Attention{N: n, T: pos0 + n, Pos0: pos0, Heads: c.Heads, KVHeads: c.KVHeads, HeadDim: hd,
			Scale: scale, Q: q, QStride: qDim, K: K, V: V, KVStride: kvDim, Out: att, OutStride: qDim}
		a.Run()
		linear(h, att, n, L.wo, L.bo)
		addInto(x, h)
		copy(h, x)
		for i := range n {
			kernels.RMSNorm(h[i*d:(i+1)*d], L.mlpNorm, eps)
		}
		linear(gate, h, n, L.gate, L.gateB)
		linear(up, h, n, L.up, L.upB)
		kernels.SwiGLU(gate, up)
		linear(h, gate, n, L.down, L.downB)
		addInto(x, h)
	}
	for i := range n {
		kernels.RMSNorm(x[i*d:(i+1)*d], m.norm, eps)
	}
	if cache != nil {
		cache.n += n
	}
	return nil
}
