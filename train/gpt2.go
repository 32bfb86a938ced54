package train

import (
	"context"
	"fmt"
	"math"
)

// gpt2 trains transformers' GPT2LMHeadModel as nn's forward computes it: learned positions,
// pre-LayerNorm blocks, Conv1D projections (in x out), gelu_new MLP, tied or untied head.
type gpt2[F Float] struct {
	net      *network[F]
	wte, wpe *tensor[F]
	blocks   []gpt2Block[F]
	lnfW     *tensor[F]
	lnfB     *tensor[F]
	head     *tensor[F]
}

type gpt2Block[F Float] struct {
	ln1W, ln1B, attnW, attnB, projW, projB *tensor[F]
	ln2W, ln2B, fcW, fcB, fc2W, fc2B       *tensor[F]
}

// gpt2Acts is what one block's backward reads from its forward.
type gpt2Acts[F Float] struct {
	xIn, ln1, ln1Mean, ln1Rstd, qkv, att []F
	xMid, ln2, ln2Mean, ln2Rstd, fc, act []F
}

func newGPT2[F Float](n *network[F], src source) (*gpt2[F], error) {
	c := n.cfg
	switch c.Activation {
	case "gelu_new", "gelu_pytorch_tanh":
	default:
		return nil, fmt.Errorf("gpt2: activation %q has no trainer (gelu_new only)", c.Activation)
	}
	d, inner := c.Hidden, c.Intermed
	g := &gpt2[F]{net: n}
	var err error
	p := func(name string, shape ...int) *tensor[F] {
		if err != nil {
			return nil
		}
		var t *tensor[F]
		t, err = n.param(src, name, shape...)
		return t
	}
	g.wte = p("transformer.wte.weight", c.VocabSize, d)
	g.wpe = p("transformer.wpe.weight", c.Positions, d)
	for l := range c.Layers {
		h := fmt.Sprintf("transformer.h.%d.", l)
		g.blocks = append(g.blocks, gpt2Block[F]{
			ln1W: p(h+"ln_1.weight", d), ln1B: p(h+"ln_1.bias", d),
			attnW: p(h+"attn.c_attn.weight", d, 3*d), attnB: p(h+"attn.c_attn.bias", 3*d),
			projW: p(h+"attn.c_proj.weight", d, d), projB: p(h+"attn.c_proj.bias", d),
			ln2W: p(h+"ln_2.weight", d), ln2B: p(h+"ln_2.bias", d),
			fcW: p(h+"mlp.c_fc.weight", d, inner), fcB: p(h+"mlp.c_fc.bias", inner),
			fc2W: p(h+"mlp.c_proj.weight", inner, d), fc2B: p(h+"mlp.c_proj.bias", d),
		})
	}
	g.lnfW = p("transformer.ln_f.weight", d)
	g.lnfB = p("transformer.ln_f.bias", d)
	g.head = g.wte
	if !c.TieEmbeddings {
		g.head = p("lm_head.weight", c.VocabSize, d)
	}
	if err != nil {
		return nil, fmt.Errorf("gpt2: %w", err)
	}
	return g, nil
}

func (g *gpt2[F]) attnScale(l int) float64 {
	c := g.net.cfg
	s := 1.0
	if c.ScaleAttnWeights {
		s = 1 / math.Sqrt(float64(c.HeadDim))
	}
	if c.ScaleAttnByInverseLayerIdx {
		s /= float64(l + 1)
	}
	return s
}

func (g *gpt2[F]) attention(a *gpt2Acts[F], B, L, l int) *Attention[F] {
	c := g.net.cfg
	d := c.Hidden
	return &Attention[F]{B: B, L: L, Heads: c.Heads, KVHeads: c.Heads, HeadDim: c.HeadDim, Scale: g.attnScale(l),
		Q: a.qkv, QStride: 3 * d, K: a.qkv[d:], V: a.qkv[2*d:], KVStride: 3 * d, Out: a.att, OutStride: d}
}

func (g *gpt2[F]) lossGrad(ctx context.Context, ids []int32, B, L int, scale float64, grad bool) (float64, error) {
	c := g.net.cfg
	n, d, inner := len(ids), c.Hidden, c.Intermed
	eps := c.NormEps
	x := make([]F, n*d)
	EmbeddingForward(x, g.wte.data, ids, d)
	for i := range n {
		pe := g.wpe.data[(i%L)*d : (i%L+1)*d]
		row := x[i*d : (i+1)*d]
		for j := range row {
			row[j] += pe[j]
		}
	}
	tmp := make([]F, n*d)
	acts := make([]gpt2Acts[F], len(g.blocks))
	for l, b := range g.blocks {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		a := &acts[l]
		a.xIn = append([]F(nil), x...)
		a.ln1, a.ln1Mean, a.ln1Rstd = make([]F, n*d), make([]F, n), make([]F, n)
		LayerNormForward(a.ln1, a.ln1Mean, a.ln1Rstd, x, b.ln1W.data, b.ln1B.data, n, d, eps)
		a.qkv = make([]F, n*3*d)
		Conv1DForward(a.qkv, a.ln1, b.attnW.data, b.attnB.data, n, d, 3*d)
		a.att = make([]F, n*d)
		g.attention(a, B, L, l).Forward()
		Conv1DForward(tmp, a.att, b.projW.data, b.projB.data, n, d, d)
		addTo(x, tmp)
		a.xMid = append([]F(nil), x...)
		a.ln2, a.ln2Mean, a.ln2Rstd = make([]F, n*d), make([]F, n), make([]F, n)
		LayerNormForward(a.ln2, a.ln2Mean, a.ln2Rstd, x, b.ln2W.data, b.ln2B.data, n, d, eps)
		a.fc, a.act = make([]F, n*inner), make([]F, n*inner)
		Conv1DForward(a.fc, a.ln2, b.fcW.data, b.fcB.data, n, d, inner)
		GELUForward(a.act, a.fc)
		Conv1DForward(tmp, a.act, b.fc2W.data, b.fc2B.data, n, inner, d)
		addTo(x, tmp)
		if !grad {
			acts[l] = gpt2Acts[F]{} // inference keeps no activations
		}
	}
	hf, mf, rf := make([]F, n*d), make([]F, n), make([]F, n)
	LayerNormForward(hf, mf, rf, x, g.lnfW.data, g.lnfB.data, n, d, eps)
	targets := shiftedTargets(ids, B, L)
	var dh []F
	if grad {
		dh = make([]F, n*d)
	}
	loss := headLoss(hf, g.head, targets, n, d, scale, grad, dh)
	if !grad {
		return loss, nil
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	dx := make([]F, n*d)
	LayerNormBackward(dx, g.lnfW.grad, g.lnfB.grad, dh, x, mf, rf, g.lnfW.data, n, d)
	dAct := make([]F, n*inner)
	dln := make([]F, n*d)
	dqkv := make([]F, n*3*d)
	for l := len(g.blocks) - 1; l >= 0; l-- {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		b, a := g.blocks[l], &acts[l]
		Conv1DBackward(dAct, b.fc2W.grad, b.fc2B.grad, dx, a.act, b.fc2W.data, n, inner, d)
		GELUBackward(dAct, dAct, a.fc)
		Conv1DBackward(dln, b.fcW.grad, b.fcB.grad, dAct, a.ln2, b.fcW.data, n, d, inner)
		LayerNormBackward(dln, b.ln2W.grad, b.ln2B.grad, dln, a.xMid, a.ln2Mean, a.ln2Rstd, b.ln2W.data, n, d)
		addTo(dx, dln)
		Conv1DBackward(dln, b.projW.grad, b.projB.grad, dx, a.att, b.projW.data, n, d, d)
		g.attention(a, B, L, l).Backward(dqkv, dqkv[d:], dqkv[2*d:], dln)
		Conv1DBackward(dln, b.attnW.grad, b.attnB.grad, dqkv, a.ln1, b.attnW.data, n, d, 3*d)
		LayerNormBackward(dln, b.ln1W.grad, b.ln1B.grad, dln, a.xIn, a.ln1Mean, a.ln1Rstd, b.ln1W.data, n, d)
		addTo(dx, dln)
		acts[l] = gpt2Acts[F]{}
	}
	EmbeddingBackward(g.wte.grad, dx, ids, d)
	for i := range n {
		dp := g.wpe.grad[(i%L)*d : (i%L+1)*d]
		for j, v := range dx[i*d : (i+1)*d] {
			dp[j] += v
		}
	}
	return loss, nil
}

func addTo[F Float](dst, src []F) {
	for i := range dst {
		dst[i] += src[i]
	}
}
