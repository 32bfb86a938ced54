package nn

import (
	"context"
	"fmt"
	"math"

	"github.com/pretrain/pretrain/nn/kernels"
)

// GPT-2 (transformers' GPT2LMHeadModel): learned positions, pre-LayerNorm blocks, Conv1D
// projections (weights stored in x out), tied output embedding unless the config unties it.

func init() {
	register(&arch{name: "GPT2LMHeadModel", modelType: "gpt2", parse: parseGPT2, build: buildGPT2})
}

func parseGPT2(c *Config, r *rawConfig) error {
	var err error
	if c.VocabSize, err = intField("vocab_size", r.VocabSize, 50257, maxVocab); err != nil {
		return err
	}
	if c.Hidden, err = intField("n_embd", r.NEmbd, 768, maxHidden); err != nil {
		return err
	}
	if c.Layers, err = intField("n_layer", r.NLayer, 12, maxLayers); err != nil {
		return err
	}
	if c.Heads, err = intField("n_head", r.NHead, 12, maxHeads); err != nil {
		return err
	}
	if c.Positions, err = intField("n_positions", r.NPositions, 1024, maxPositions); err != nil {
		return err
	}
	if c.Intermed, err = intField("n_inner", r.NInner, 4*int64(c.Hidden), maxIntermed); err != nil {
		return err
	}
	eps, err := floatField("layer_norm_epsilon", r.LNEps, 1e-5)
	if err != nil {
		return err
	}
	c.NormEps = eps
	c.Activation = "gelu_new"
	if r.ActFn != nil {
		c.Activation = *r.ActFn
	}
	c.ScaleAttnWeights = r.ScaleAttn == nil || *r.ScaleAttn
	c.ScaleAttnByInverseLayerIdx = r.ScaleInvLayer != nil && *r.ScaleInvLayer
	c.TieEmbeddings = r.Tie == nil || *r.Tie // PretrainedConfig's default
	c.QKVBias, c.OBias, c.MLPBias = true, true, true
	if c.Hidden%c.Heads != 0 {
		return fmt.Errorf("%w: n_embd %d is not a multiple of n_head %d", ErrConfig, c.Hidden, c.Heads)
	}
	return nil
}

type gpt2Block struct {
	ln1W, ln1B, ln2W, ln2B []float32
	attnW, projW           kernels.Mat
	attnB, projB           []float32
	fcW, fc2W              kernels.Mat
	fcB, fc2B              []float32
}

type gpt2 struct {
	cfg      *Config
	wte, wpe kernels.Mat
	lmHead   kernels.Mat
	blocks   []gpt2Block
	lnfW     []float32
	lnfB     []float32
	act      func([]float32)
}

func buildGPT2(c *Config, w *weightSet) (network, error) {
	// Checkpoints saved from GPT2LMHeadModel prefix the body with "transformer."; the
	// original OpenAI conversions do not.
	p := "transformer."
	if !w.has(p+"wte.weight") && w.has("wte.weight") {
		p = ""
	}
	d, inner := c.Hidden, c.Intermed
	g := &gpt2{cfg: c, act: activations[c.Activation]}
	var err error
	load := func(dst *kernels.Mat, name string, rows, cols int) {
		if err == nil {
			*dst, err = w.mat(name, rows, cols)
		}
	}
	loadVec := func(dst *[]float32, name string, n int) {
		if err == nil {
			*dst, err = w.vec(name, n)
		}
	}
	load(&g.wte, p+"wte.weight", c.VocabSize, d)
	load(&g.wpe, p+"wpe.weight", c.Positions, d)
	for l := range c.Layers {
		b := gpt2Block{}
		h := fmt.Sprintf("%sh.%d.", p, l)
		loadVec(&b.ln1W, h+"ln_1.weight", d)
		loadVec(&b.ln1B, h+"ln_1.bias", d)
		load(&b.attnW, h+"attn.c_attn.weight", d, 3*d)
		loadVec(&b.attnB, h+"attn.c_attn.bias", 3*d)
		load(&b.projW, h+"attn.c_proj.weight", d, d)
		loadVec(&b.projB, h+"attn.c_proj.bias", d)
		loadVec(&b.ln2W, h+"ln_2.weight", d)
		loadVec(&b.ln2B, h+"ln_2.bias", d)
		load(&b.fcW, h+"mlp.c_fc.weight", d, inner)
		loadVec(&b.fcB, h+"mlp.c_fc.bias", inner)
		load(&b.fc2W, h+"mlp.c_proj.weight", inner, d)
		loadVec(&b.fc2B, h+"mlp.c_proj.bias", d)
		g.blocks = append(g.blocks, b)
	}
	loadVec(&g.lnfW, p+"ln_f.weight", d)
	loadVec(&g.lnfB, p+"ln_f.bias", d)
	if c.TieEmbeddings {
		g.lmHead = g.wte
	} else {
		load(&g.lmHead, "lm_head.weight", c.VocabSize, d)
	}
	if err != nil {
		return nil, err
	}
	return g, nil
}

func (g *gpt2) head() kernels.Mat { return g.lmHead }

func (g *gpt2) forward(ctx context.Context, ids []int32, cache *KVCache, out []float32) error {
	c := g.cfg
	n, d, inner := len(ids), c.Hidden, c.Intermed
	if err := checkIDs(ids, c.VocabSize); err != nil {
		return err
	}
	pos0 := 0
	if cache != nil {
		pos0 = cache.n
	}
	if pos0+n > c.Positions {
		return fmt.Errorf("positions up to %d exceed n_positions %d", pos0+n, c.Positions)
	}
	x := out[:n*d]
	embed(x, g.wte, ids)
	pe := make([]float32, d)
	for i := range n {
		g.wpe.Row(pe, pos0+i)
		row := x[i*d : (i+1)*d]
		for j := range row {
			row[j] += pe[j]
		}
	}
	h := make([]float32, n*d)
	qkv := make([]float32, n*3*d)
	att := make([]float32, n*d)
	ff := make([]float32, n*inner)
	var scratchK, scratchV []float32
	if cache == nil {
		scratchK, scratchV = make([]float32, n*d), make([]float32, n*d)
	}
	eps := float32(c.NormEps)
	for l, b := range g.blocks {
		if err := ctx.Err(); err != nil {
			return err
		}
		copy(h, x)
		for i := range n {
			kernels.LayerNorm(h[i*d:(i+1)*d], b.ln1W, b.ln1B, eps)
		}
		conv1D(qkv, h, n, b.attnW, b.attnB)
		K, V, _, err := layerKV(cache, l, n, scratchK, scratchV)
		if err != nil {
			return err
		}
		for i := range n {
			copy(K[(pos0+i)*d:(pos0+i+1)*d], qkv[i*3*d+d:i*3*d+2*d])
			copy(V[(pos0+i)*d:(pos0+i+1)*d], qkv[i*3*d+2*d:i*3*d+3*d])
		}
		scale := float32(1)
		if c.ScaleAttnWeights {
			scale = float32(1 / math.Sqrt(float64(c.HeadDim)))
		}
		if c.ScaleAttnByInverseLayerIdx {
			scale /= float32(l + 1)
		}
		a := kernels.Attention{N: n, T: pos0 + n, Pos0: pos0, Heads: c.Heads, KVHeads: c.Heads, HeadDim: c.HeadDim,
			Scale: scale, Q: qkv, QStride: 3 * d, K: K, V: V, KVStride: d, Out: att, OutStride: d}
		a.Run()
		conv1D(h, att, n, b.projW, b.projB)
		addInto(x, h)
		copy(h, x)
		for i := range n {
			kernels.LayerNorm(h[i*d:(i+1)*d], b.ln2W, b.ln2B, eps)
		}
		conv1D(ff, h, n, b.fcW, b.fcB)
		g.act(ff)
		conv1D(h, ff, n, b.fc2W, b.fc2B)
		addInto(x, h)
	}
	for i := range n {
		kernels.LayerNorm(x[i*d:(i+1)*d], g.lnfW, g.lnfB, eps)
	}
	if cache != nil {
		cache.n += n
	}
	return nil
}

// addInto adds src into dst elementwise (residual connections).
func addInto(dst, src []float32) {
	src = src[:len(dst)]
	for i := range dst {
		dst[i] += src[i]
	}
}
