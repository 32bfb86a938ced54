package train

import (
	"context"
	"fmt"
	"math"

	"github.com/pretrain/pretrain/nn"
)

// gpt2 is the backward of transformers' GPT2LMHeadModel as nn's forward computes it: learned
// positions, pre-LayerNorm blocks, Conv1D projections (in x out), gelu_new MLP, tied or
// untied head.
type gpt2[F Float] struct {
	net      *network[F]
	wte, wpe *tensor[F]
	blocks   []gpt2Block[F]
	lnfW     *tensor[F]
	lnfB     *tensor[F]
}

type gpt2Block[F Float] struct {
	ln1W, ln1B, attnW, attnB, projW, projB *tensor[F]
	ln2W, ln2B, fcW, fcB, fc2W, fc2B       *tensor[F]
}

func newGPT2[F Float](n *network[F]) (arch[F], error) {
	c := n.cfg
	switch c.Activation {
	case "gelu_new", "gelu_pytorch_tanh":
	default:
		return nil, fmt.Errorf("gpt2: activation %q has no trainer (gelu_new only)", c.Activation)
	}
	var err error
	p := func(name string) *tensor[F] { return n.tensor(&err, name) }
	g := &gpt2[F]{net: n, wte: p("transformer.wte.weight"), wpe: p("transformer.wpe.weight")}
	for l := range c.Layers {
		h := fmt.Sprintf("transformer.h.%d.", l)
		g.blocks = append(g.blocks, gpt2Block[F]{
			ln1W: p(h + "ln_1.weight"), ln1B: p(h + "ln_1.bias"),
			attnW: p(h + "attn.c_attn.weight"), attnB: p(h + "attn.c_attn.bias"),
			projW: p(h + "attn.c_proj.weight"), projB: p(h + "attn.c_proj.bias"),
			ln2W: p(h + "ln_2.weight"), ln2B: p(h + "ln_2.bias"),
			fcW: p(h + "mlp.c_fc.weight"), fcB: p(h + "mlp.c_fc.bias"),
			fc2W: p(h + "mlp.c_proj.weight"), fc2B: p(h + "mlp.c_proj.bias"),
		})
	}
	g.lnfW, g.lnfB = p("transformer.ln_f.weight"), p("transformer.ln_f.bias")
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

func (g *gpt2[F]) backward(ctx context.Context, tr *nn.Trace[F], ids []int32, B, L int, dh []F) error {
	c := g.net.cfg
	n, d, inner := len(ids), c.Hidden, c.Intermed
	dx := make([]F, n*d)
	LayerNormBackward(dx, g.lnfW.grad, g.lnfB.grad, dh, tr.X, tr.Mean, tr.Rstd, g.lnfW.data, n, d)
	dAct := make([]F, n*inner)
	dln := make([]F, n*d)
	dqkv := make([]F, n*3*d)
	for l := len(g.blocks) - 1; l >= 0; l-- {
		if err := ctx.Err(); err != nil {
			return err
		}
		b, a := g.blocks[l], &tr.Layers[l]
		Conv1DBackward(dAct, b.fc2W.grad, b.fc2B.grad, dx, a.Act, b.fc2W.data, n, inner, d)
		GELUBackward(dAct, dAct, a.Pre)
		Conv1DBackward(dln, b.fcW.grad, b.fcB.grad, dAct, a.Norm2, b.fcW.data, n, d, inner)
		LayerNormBackward(dln, b.ln2W.grad, b.ln2B.grad, dln, a.XMid, a.Mean2, a.Rstd2, b.ln2W.data, n, d)
		addTo(dx, dln)
		Conv1DBackward(dln, b.projW.grad, b.projB.grad, dx, a.Att, b.projW.data, n, d, d)
		att := &Attention[F]{B: B, L: L, Heads: c.Heads, KVHeads: c.Heads, HeadDim: c.HeadDim, Scale: g.attnScale(l),
			Q: a.QKV, QStride: 3 * d, K: a.QKV[d:], V: a.QKV[2*d:], KVStride: 3 * d, OutStride: d}
		att.Backward(dqkv, dqkv[d:], dqkv[2*d:], dln)
		Conv1DBackward(dln, b.attnW.grad, b.attnB.grad, dqkv, a.Norm1, b.attnW.data, n, d, 3*d)
		LayerNormBackward(dln, b.ln1W.grad, b.ln1B.grad, dln, a.X, a.Mean1, a.Rstd1, b.ln1W.data, n, d)
		addTo(dx, dln)
		tr.Layers[l] = nn.LayerTrace[F]{} // done with this layer's activations
	}
	EmbeddingBackward(g.wte.grad, dx, ids, d)
	for i := range n {
		dp := g.wpe.grad[(i%L)*d : (i%L+1)*d]
		for j, v := range dx[i*d : (i+1)*d] {
			dp[j] += v
		}
	}
	return nil
}

func addTo[F Float](dst, src []F) {
	for i := range dst {
		dst[i] += src[i]
	}
}
