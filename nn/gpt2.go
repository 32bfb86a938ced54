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

func (g *gpt2[F]) gemmWeights() []gemmWeight {
	out := []gemmWeight{{&g.lmHead, true}}
	for i := range g.blocks {
		b := &g.blocks[i]
		out = append(out, gemmWeight{&b.attnW, false}, gemmWeight{&b.projW, false}, gemmWeight{&b.fcW, false}, gemmWeight{&b.fc2W, false})
	}
	return out
}

func (g *gpt2[F]) forward(ctx context.Context, ids []int32, rows int, cache *KVCache, out []F, tr *Trace[F]) error {
	c := g.cfg
	n, d, inner := len(ids), c.Hidden, c.Intermed
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
	eps := float32(c.NormEps)
	scale := F(1) // in F, as torch scales the scores in the model's dtype
	if c.ScaleAttnWeights {
		scale = F(1 / math.Sqrt(float64(c.HeadDim)))
	}
	proj := make([]F, n*d)
	var ln1, qkv, att, ln2, fc, act, mean1, rstd1, mean2, rstd2 []F
	for l, b := range g.blocks {
		if err := ctx.Err(); err != nil {
			return err
		}
		t := tr.layer(l, len(g.blocks))
		if l == 0 || t != nil {
			// Inference reuses one set of buffers; a trace keeps every layer's.
			ln1, qkv, att, ln2 = make([]F, n*d), make([]F, n*3*d), make([]F, n*d), make([]F, n*d)
			fc = make([]F, n*inner)
		}
		act = fc // activated in place
		if t != nil {
			act = make([]F, n*inner)
			mean1, rstd1, mean2, rstd2 = make([]F, n), make([]F, n), make([]F, n), make([]F, n)
			*t = LayerTrace[F]{X: slices.Clone(x), Norm1: ln1, Mean1: mean1, Rstd1: rstd1, QKV: qkv, Att: att,
				Norm2: ln2, Mean2: mean2, Rstd2: rstd2, Pre: fc, Act: act}
		}
		layerNorm(ln1, x, n, b.ln1W, b.ln1B, eps, mean1, rstd1)
		conv1D(qkv, ln1, n, b.attnW, b.attnB)
		layerScale := scale
		if c.ScaleAttnByInverseLayerIdx {
			layerScale /= F(l + 1)
		}
		for r := range rows {
			o := r * L
			// Without a cache, keys and values are read in place from q|k|v.
			K, V, kvStride := qkv[o*3*d+d:], qkv[o*3*d+2*d:], 3*d
			if cache != nil {
				if K, V, err = cacheKV[F](cache, l, L); err != nil {
					return err
				}
				for i := range L {
					copy(K[(pos0+i)*d:(pos0+i+1)*d], qkv[i*3*d+d:i*3*d+2*d])
					copy(V[(pos0+i)*d:(pos0+i+1)*d], qkv[i*3*d+2*d:i*3*d+3*d])
				}
				kvStride = d
			}
			a := kernels.Attention[F]{N: L, T: pos0 + L, Pos0: pos0, Heads: c.Heads, KVHeads: c.Heads, HeadDim: c.HeadDim,
				Scale: float64(layerScale), Q: qkv[o*3*d:], QStride: 3 * d, K: K, V: V, KVStride: kvStride, Out: att[o*d:], OutStride: d}
			a.Run()
		}
		conv1D(proj, att, n, b.projW, b.projB)
		addInto(x, proj)
		if t != nil {
			t.XMid = slices.Clone(x)
		}
		layerNorm(ln2, x, n, b.ln2W, b.ln2B, eps, mean2, rstd2)
		conv1D(fc, ln2, n, b.fcW, b.fcB)
		if t != nil {
			copy(act, fc)
		}
		g.act(act)
		conv1D(proj, act, n, b.fc2W, b.fc2B)
		addInto(x, proj)
	}
	var mean, rstd []F
	if tr != nil {
		mean, rstd = make([]F, n), make([]F, n)
		tr.X, tr.Mean, tr.Rstd = slices.Clone(x), mean, rstd
	}
	layerNorm(x, x, n, g.lnfW, g.lnfB, eps, mean, rstd)
	if cache != nil {
		cache.n += n
	}
	return nil
}
