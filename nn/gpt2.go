package nn

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/pretrain/pretrain/nn/kernels"
)

// GPT-2 (transformers' GPT2LMHeadModel): learned positions, pre-LayerNorm blocks, Conv1D
// projections (weights stored in x out), tied output embedding unless the config unties it.

func init() {
	register(&arch{name: "GPT2LMHeadModel", modelType: "gpt2", parse: parseGPT2,
		build: buildGPT2[float32], build64: buildGPT2[float64]})
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

type gpt2Block[F kernels.Float] struct {
	ln1W, ln1B, ln2W, ln2B []F
	attnW, projW           kernels.Mat
	attnB, projB           []F
	fcW, fc2W              kernels.Mat
	fcB, fc2B              []F
}

type gpt2[F kernels.Float] struct {
	cfg      *Config
	wte, wpe kernels.Mat
	lmHead   kernels.Mat
	headAt   string
	blocks   []gpt2Block[F]
	lnfW     []F
	lnfB     []F
	act      func([]F)
	// bf16Attention runs attention on bfloat16 operands (PrecisionBF16).
	bf16Attention bool
}

func buildGPT2[F kernels.Float](c *Config, w *weightSet[F]) (network[F], error) {
	// Checkpoints saved from GPT2LMHeadModel prefix the body with "transformer."; the
	// original OpenAI conversions do not.
	p := "transformer."
	if !w.has(p+"wte.weight") && w.has("wte.weight") {
		p = ""
	}
	d, inner := c.Hidden, c.Intermed
	g := &gpt2[F]{cfg: c, act: activation[F](c.Activation)}
	if g.act == nil {
		return nil, fmt.Errorf("activation %q has no float64 kernel", c.Activation)
	}
	var err error
	load := func(dst *kernels.Mat, name string, rows, cols int) {
		if err == nil {
			*dst, err = w.mat(name, rows, cols)
		}
	}
	loadVec := func(dst *[]F, name string, n int) {
		if err == nil {
			*dst, err = w.vec(name, n)
		}
	}
	load(&g.wte, p+"wte.weight", c.VocabSize, d)
	load(&g.wpe, p+"wpe.weight", c.Positions, d)
	for l := range c.Layers {
		b := gpt2Block[F]{}
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
	g.lmHead, g.headAt = g.wte, p+"wte.weight"
	if !c.TieEmbeddings {
		g.headAt = "lm_head.weight"
		load(&g.lmHead, g.headAt, c.VocabSize, d)
	}
	if err != nil {
		return nil, err
	}
	return g, nil
}

func (g *gpt2[F]) head() kernels.Mat { return g.lmHead }
func (g *gpt2[F]) headName() string  { return g.headAt }

func (g *gpt2[F]) setBF16Attention(on bool) { g.bf16Attention = on }

func (g *gpt2[F]) gemmWeights() []gemmWeight {
	out := []gemmWeight{{&g.lmHead, true}}
	for i := range g.blocks {
		b := &g.blocks[i]
		out = append(out, gemmWeight{&b.attnW, false}, gemmWeight{&b.projW, false}, gemmWeight{&b.fcW, false}, gemmWeight{&b.fc2W, false})
	}
	return out
}

// gpt2Step is what every block of one forward shares: the batch's shape, the KV cache, and
// the scratch each sublayer's output lands in before it is added to the residual stream.
type gpt2Step[F kernels.Float] struct {
	n, rows, L, pos0 int
	cache            *KVCache
	proj             []F
	bf16Attention    bool
}

// gpt2Acts are one block's activations. Inference reuses one set for every block; a trace
// keeps each block's, and its LayerTrace points at them.
type gpt2Acts[F kernels.Float] struct {
	ln1, qkv, att, ln2, fc []F
	act                    []F // fc itself (activated in place) unless traced
	mean1, rstd1           []F // norm statistics: nil unless traced
	mean2, rstd2           []F
}

func (g *gpt2[F]) newActs(n int, traced bool) *gpt2Acts[F] {
	d, inner := g.cfg.Hidden, g.cfg.Intermed
	a := &gpt2Acts[F]{ln1: make([]F, n*d), qkv: make([]F, n*3*d), att: make([]F, n*d), ln2: make([]F, n*d),
		fc: make([]F, n*inner)}
	a.act = a.fc
	if traced {
		a.act = make([]F, n*inner)
		a.mean1, a.rstd1, a.mean2, a.rstd2 = make([]F, n), make([]F, n), make([]F, n), make([]F, n)
	}
	return a
}

func (g *gpt2[F]) forward(ctx context.Context, ids []int32, rows int, cache *KVCache, out []F, tr *Trace[F]) error {
	c := g.cfg
	n, d := len(ids), c.Hidden
	if err := checkIDs(ids, c.VocabSize); err != nil {
		return err
	}
	L, pos0, err := checkRows(ids, rows, cache)
	if err != nil {
		return err
	}
	if pos0+L > c.Positions {
		return fmt.Errorf("positions up to %d exceed n_positions %d", pos0+L, c.Positions)
	}
	x := out[:n*d]
	embed(x, g.wte, ids)
	pe := make([]F, d)
	for i := range n {
		kernels.RowOf(pe, g.wpe, pos0+i%L)
		addInto(x[i*d:(i+1)*d], pe)
	}
	s := &gpt2Step[F]{n: n, rows: rows, L: L, pos0: pos0, cache: cache, proj: make([]F, n*d), bf16Attention: g.bf16Attention}
	var a *gpt2Acts[F]
	for l := range g.blocks {
		if err := ctx.Err(); err != nil {
			return err
		}
		t := tr.layer(l, len(g.blocks))
		if l == 0 || t != nil {
			a = g.newActs(n, t != nil)
		}
		if t != nil {
			*t = LayerTrace[F]{X: slices.Clone(x), Norm1: a.ln1, Mean1: a.mean1, Rstd1: a.rstd1, QKV: a.qkv, Att: a.att,
				Norm2: a.ln2, Mean2: a.mean2, Rstd2: a.rstd2, Pre: a.fc, Act: a.act}
		}
		if err := g.blocks[l].forward(g, s, l, x, a, t); err != nil {
			return err
		}
	}
	var mean, rstd []F
	if tr != nil {
		mean, rstd = make([]F, n), make([]F, n)
		tr.X, tr.Mean, tr.Rstd = slices.Clone(x), mean, rstd
	}
	layerNorm(x, x, n, g.lnfW, g.lnfB, float32(c.NormEps), mean, rstd)
	if cache != nil {
		cache.n += n
	}
	return nil
}

// forward is one pre-norm GPT-2 block:
//
//	x = x + Attention(LayerNorm(x))
//	x = x + MLP(LayerNorm(x))
func (b *gpt2Block[F]) forward(g *gpt2[F], s *gpt2Step[F], l int, x []F, a *gpt2Acts[F], t *LayerTrace[F]) error {
	eps := float32(g.cfg.NormEps)
	layerNorm(a.ln1, x, s.n, b.ln1W, b.ln1B, eps, a.mean1, a.rstd1)
	if err := b.attention(g.cfg, s, l, a); err != nil {
		return err
	}
	addInto(x, s.proj)
	if t != nil {
		t.XMid = slices.Clone(x)
	}
	layerNorm(a.ln2, x, s.n, b.ln2W, b.ln2B, eps, a.mean2, a.rstd2)
	b.mlp(g, s, a, t != nil)
	addInto(x, s.proj)
	return nil
}

// attention is the self-attention sublayer on a.ln1: the fused q|k|v projection, causal
// attention within each row (over the cache's keys too), and the output projection into
// s.proj. New keys and values go to the cache when there is one.
func (b *gpt2Block[F]) attention(c *Config, s *gpt2Step[F], l int, a *gpt2Acts[F]) error {
	d := c.Hidden
	conv1D(a.qkv, a.ln1, s.n, b.attnW, b.attnB)
	scale := F(1) // in F, as torch scales the scores in the model's dtype
	if c.ScaleAttnWeights {
		scale = F(1 / math.Sqrt(float64(c.HeadDim)))
	}
	if c.ScaleAttnByInverseLayerIdx {
		scale /= F(l + 1)
	}
	for r := range s.rows {
		o := r * s.L
		// Without a cache, keys and values are read in place from q|k|v.
		K, V, kvStride := a.qkv[o*3*d+d:], a.qkv[o*3*d+2*d:], 3*d
		if s.cache != nil {
			var err error
			if K, V, err = cacheKV[F](s.cache, l, s.L); err != nil {
				return err
			}
			for i := range s.L {
				copy(K[(s.pos0+i)*d:(s.pos0+i+1)*d], a.qkv[i*3*d+d:i*3*d+2*d])
				copy(V[(s.pos0+i)*d:(s.pos0+i+1)*d], a.qkv[i*3*d+2*d:i*3*d+3*d])
			}
			kvStride = d
		}
		att := kernels.Attention[F]{N: s.L, T: s.pos0 + s.L, Pos0: s.pos0, Heads: c.Heads, KVHeads: c.Heads, HeadDim: c.HeadDim,
			Scale: float64(scale), Q: a.qkv[o*3*d:], QStride: 3 * d, K: K, V: V, KVStride: kvStride, Out: a.att[o*d:], OutStride: d,
			BF16: s.bf16Attention}
		att.Run()
	}
	conv1D(s.proj, a.att, s.n, b.projW, b.projB)
	return nil
}

// mlp is the MLP sublayer on a.ln2 into s.proj: c_proj(act(c_fc(h))). keepPre keeps c_fc's
// output (a trace reads it) by activating a copy.
func (b *gpt2Block[F]) mlp(g *gpt2[F], s *gpt2Step[F], a *gpt2Acts[F], keepPre bool) {
	conv1D(a.fc, a.ln2, s.n, b.fcW, b.fcB)
	if keepPre {
		copy(a.act, a.fc)
	}
	g.act(a.act)
	conv1D(s.proj, a.act, s.n, b.fc2W, b.fc2B)
}
