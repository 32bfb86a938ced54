package nn

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/pretrain/pretrain/nn/kernels"
)

// The Llama family (transformers' LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM):
// RMSNorm pre-norm blocks, rotary position embeddings (rotate-half), grouped-query attention,
// SwiGLU MLP, tied or untied output embedding. The three differ only in defaults and biases.

func init() {
	for _, a := range []struct {
		name, modelType string
		defaults        llamaFamily
	}{
		{"LlamaForCausalLM", "llama", llamaDefaults},
		{"MistralForCausalLM", "mistral", mistralDefaults},
		{"Qwen2ForCausalLM", "qwen2", qwen2Defaults},
	} {
		register(&arch{name: a.name, modelType: a.modelType, parse: llamaParser(a.defaults),
			build: buildLlama[float32], build64: buildLlama[float64]})
	}
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

type llamaLayer[F kernels.Float] struct {
	attnNorm, mlpNorm []F
	wq, wk, wv, wo    kernels.Mat
	bq, bk, bv, bo    []F
	gate, up, down    kernels.Mat
	gateB, upB, downB []F
}

type llama[F kernels.Float] struct {
	cfg     *Config
	embed   kernels.Mat
	lmHead  kernels.Mat
	headAt  string
	layers  []llamaLayer[F]
	norm    []F
	invFreq []float32
	// bf16Attention runs attention on bfloat16 operands (PrecisionBF16).
	bf16Attention bool
}

func buildLlama[F kernels.Float](c *Config, w *weightSet[F]) (network[F], error) {
	d, hd, I := c.Hidden, c.HeadDim, c.Intermed
	qDim, kvDim := c.Heads*hd, c.KVHeads*hd
	m := &llama[F]{cfg: c, invFreq: RopeInvFreq(c)}
	var err error
	load := func(dst *kernels.Mat, name string, rows, cols int) {
		if err == nil {
			*dst, err = w.mat(name, rows, cols)
		}
	}
	loadVec := func(dst *[]F, name string, n int, want bool) {
		if err == nil && want {
			*dst, err = w.vec(name, n)
		}
	}
	load(&m.embed, "model.embed_tokens.weight", c.VocabSize, d)
	for l := range c.Layers {
		var L llamaLayer[F]
		p := fmt.Sprintf("model.layers.%d.", l)
		loadVec(&L.attnNorm, p+"input_layernorm.weight", d, true)
		load(&L.wq, p+"self_attn.q_proj.weight", qDim, d)
		loadVec(&L.bq, p+"self_attn.q_proj.bias", qDim, c.QKVBias)
		load(&L.wk, p+"self_attn.k_proj.weight", kvDim, d)
		loadVec(&L.bk, p+"self_attn.k_proj.bias", kvDim, c.QKVBias)
		load(&L.wv, p+"self_attn.v_proj.weight", kvDim, d)
		loadVec(&L.bv, p+"self_attn.v_proj.bias", kvDim, c.QKVBias)
		load(&L.wo, p+"self_attn.o_proj.weight", d, qDim)
		loadVec(&L.bo, p+"self_attn.o_proj.bias", d, c.OBias)
		loadVec(&L.mlpNorm, p+"post_attention_layernorm.weight", d, true)
		load(&L.gate, p+"mlp.gate_proj.weight", I, d)
		loadVec(&L.gateB, p+"mlp.gate_proj.bias", I, c.MLPBias)
		load(&L.up, p+"mlp.up_proj.weight", I, d)
		loadVec(&L.upB, p+"mlp.up_proj.bias", I, c.MLPBias)
		load(&L.down, p+"mlp.down_proj.weight", d, I)
		loadVec(&L.downB, p+"mlp.down_proj.bias", d, c.MLPBias)
		m.layers = append(m.layers, L)
	}
	loadVec(&m.norm, "model.norm.weight", d, true)
	m.lmHead, m.headAt = m.embed, "model.embed_tokens.weight"
	if !c.TieEmbeddings {
		m.headAt = "lm_head.weight"
		load(&m.lmHead, m.headAt, c.VocabSize, d)
	}
	if err != nil {
		return nil, err
	}
	return m, nil
}

// RopeInvFreq computes the rotary inverse frequencies in float32 as transformers does:
// 1/θ^(2i/dim), then the config's scaling (linear divides by factor; llama3 rescales low
// frequencies and interpolates the middle band).
func RopeInvFreq(c *Config) []float32 {
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

// ropeTables returns cos and sin of the angles float32(pos)·inv_freq (in float32, as
// transformers computes them) for positions pos0..pos0+n-1, n x len(invFreq).
func ropeTables[F kernels.Float](invFreq []float32, pos0, n int) (cos, sin []F) {
	half := len(invFreq)
	cos, sin = make([]F, n*half), make([]F, n*half)
	for i := range n {
		for j, f := range invFreq {
			a := float64(float32(pos0+i) * f)
			cos[i*half+j] = F(math.Cos(a))
			sin[i*half+j] = F(math.Sin(a))
		}
	}
	return cos, sin
}

func (m *llama[F]) head() kernels.Mat { return m.lmHead }
func (m *llama[F]) headName() string  { return m.headAt }

func (m *llama[F]) setBF16Attention(on bool) { m.bf16Attention = on }

func (m *llama[F]) gemmWeights() []gemmWeight {
	out := []gemmWeight{{&m.lmHead, true}}
	for i := range m.layers {
		L := &m.layers[i]
		for _, w := range []*kernels.Mat{&L.wq, &L.wk, &L.wv, &L.wo, &L.gate, &L.up, &L.down} {
			out = append(out, gemmWeight{w, true})
		}
	}
	return out
}

// llamaStep is what every layer of one forward shares: the batch's shape, the rotary
// tables of its positions, the KV cache, and the scratch each sublayer's output lands in
// before it is added to the residual stream.
type llamaStep[F kernels.Float] struct {
	n, rows, L, pos0 int
	cos, sin         []F
	cache            *KVCache
	proj             []F
	bf16Attention    bool
}

// llamaActs are one layer's activations. Inference reuses one set for every layer; a trace
// keeps each layer's, and its LayerTrace points at them.
type llamaActs[F kernels.Float] struct {
	h1, q, k, v, att []F // k and v are nil with a cache, which holds them
	h2, gate, up     []F
	act              []F // gate itself (activated in place) unless traced
	rstd1, rstd2     []F // nil unless traced
}

func (m *llama[F]) newActs(n int, withKV, traced bool) *llamaActs[F] {
	c := m.cfg
	qDim, kvDim := c.Heads*c.HeadDim, c.KVHeads*c.HeadDim
	a := &llamaActs[F]{h1: make([]F, n*c.Hidden), q: make([]F, n*qDim), att: make([]F, n*qDim),
		h2: make([]F, n*c.Hidden), gate: make([]F, n*c.Intermed), up: make([]F, n*c.Intermed)}
	if withKV {
		a.k, a.v = make([]F, n*kvDim), make([]F, n*kvDim)
	}
	a.act = a.gate
	if traced {
		a.act = make([]F, n*c.Intermed)
		a.rstd1, a.rstd2 = make([]F, n), make([]F, n)
	}
	return a
}

func (m *llama[F]) forward(ctx context.Context, ids []int32, rows int, cache *KVCache, out []F, tr *Trace[F]) error {
	c := m.cfg
	n, d := len(ids), c.Hidden
	if err := checkIDs(ids, c.VocabSize); err != nil {
		return err
	}
	L, pos0, err := checkRows(ids, rows, cache)
	if err != nil {
		return err
	}
	if c.SlidingWindow > 0 && pos0+L > c.SlidingWindow {
		// The reference's flash-attention window semantics are not reproduced yet.
		return fmt.Errorf("%w: %d positions exceed sliding_window %d", ErrUnsupportedArchitecture, pos0+L, c.SlidingWindow)
	}
	s := &llamaStep[F]{n: n, rows: rows, L: L, pos0: pos0, cache: cache, proj: make([]F, n*d), bf16Attention: m.bf16Attention}
	s.cos, s.sin = ropeTables[F](m.invFreq, pos0, L)
	if tr != nil {
		tr.Cos, tr.Sin = s.cos, s.sin
	}
	x := out[:n*d]
	embed(x, m.embed, ids)
	var a *llamaActs[F]
	for l := range m.layers {
		if err := ctx.Err(); err != nil {
			return err
		}
		t := tr.layer(l, len(m.layers))
		if l == 0 || t != nil {
			a = m.newActs(n, cache == nil, t != nil)
		}
		if t != nil {
			*t = LayerTrace[F]{X: slices.Clone(x), Norm1: a.h1, Rstd1: a.rstd1, Q: a.q, K: a.k, V: a.v, Att: a.att,
				Norm2: a.h2, Rstd2: a.rstd2, Pre: a.gate, Up: a.up, Act: a.act}
		}
		if err := m.layers[l].forward(c, s, l, x, a, t); err != nil {
			return err
		}
	}
	var rstd []F
	if tr != nil {
		rstd = make([]F, n)
		tr.X, tr.Rstd = slices.Clone(x), rstd
	}
	rmsNorm(x, x, n, m.norm, float32(c.NormEps), rstd)
	if cache != nil {
		cache.n += n
	}
	return nil
}

// forward is one pre-norm decoder layer, as in the paper:
//
//	x = x + Attention(RMSNorm(x))
//	x = x + MLP(RMSNorm(x))
func (ly *llamaLayer[F]) forward(c *Config, s *llamaStep[F], l int, x []F, a *llamaActs[F], t *LayerTrace[F]) error {
	eps := float32(c.NormEps)
	rmsNorm(a.h1, x, s.n, ly.attnNorm, eps, a.rstd1)
	if err := ly.attention(c, s, l, a); err != nil {
		return err
	}
	addInto(x, s.proj)
	if t != nil {
		t.XMid = slices.Clone(x)
	}
	rmsNorm(a.h2, x, s.n, ly.mlpNorm, eps, a.rstd2)
	ly.mlp(s, a, t != nil)
	addInto(x, s.proj)
	return nil
}

// attention is the self-attention sublayer on a.h1: q, k, v projections, RoPE on q and k,
// causal attention within each row (over the cache's keys too), and the output projection
// into s.proj. New keys and values go to the cache when there is one.
func (ly *llamaLayer[F]) attention(c *Config, s *llamaStep[F], l int, a *llamaActs[F]) error {
	hd := c.HeadDim
	qDim, kvDim := c.Heads*hd, c.KVHeads*hd
	K, V := a.k, a.v // the keys and values attention reads: this call's, or the cache's
	kNew, vNew := a.k, a.v
	if s.cache != nil {
		var err error
		if K, V, err = cacheKV[F](s.cache, l, s.n); err != nil {
			return err
		}
		kNew, vNew = K[s.pos0*kvDim:(s.pos0+s.n)*kvDim], V[s.pos0*kvDim:(s.pos0+s.n)*kvDim]
	}
	linear(a.q, a.h1, s.n, ly.wq, ly.bq)
	linear(kNew, a.h1, s.n, ly.wk, ly.bk)
	linear(vNew, a.h1, s.n, ly.wv, ly.bv)
	half := hd / 2
	for i := range s.n {
		p := i % s.L
		cs, sn := s.cos[p*half:(p+1)*half], s.sin[p*half:(p+1)*half]
		for h := range c.Heads {
			kernels.RoPE(a.q[i*qDim+h*hd:i*qDim+(h+1)*hd], cs, sn)
		}
		for h := range c.KVHeads {
			kernels.RoPE(kNew[i*kvDim+h*hd:i*kvDim+(h+1)*hd], cs, sn)
		}
	}
	scale := float64(F(1 / math.Sqrt(float64(hd))))
	for r := range s.rows {
		o := r * s.L
		att := kernels.Attention[F]{N: s.L, T: s.pos0 + s.L, Pos0: s.pos0, Heads: c.Heads, KVHeads: c.KVHeads, HeadDim: hd,
			Scale: scale, Q: a.q[o*qDim:], QStride: qDim, K: K[o*kvDim:], V: V[o*kvDim:], KVStride: kvDim,
			Out: a.att[o*qDim:], OutStride: qDim, BF16: s.bf16Attention}
		att.Run()
	}
	linear(s.proj, a.att, s.n, ly.wo, ly.bo)
	return nil
}

// mlp is the gated MLP on a.h2 into s.proj: down(silu(gate(h)) · up(h)). keepPre keeps the
// gate's pre-activation (a trace reads it) by activating a copy.
func (ly *llamaLayer[F]) mlp(s *llamaStep[F], a *llamaActs[F], keepPre bool) {
	linear(a.gate, a.h2, s.n, ly.gate, ly.gateB)
	linear(a.up, a.h2, s.n, ly.up, ly.upB)
	if keepPre {
		copy(a.act, a.gate)
	}
	kernels.SwiGLU(a.act, a.up)
	linear(s.proj, a.act, s.n, ly.down, ly.downB)
}
