package train

import (
	"context"
	"fmt"
	"math"
)

// llama trains the Llama family (Llama, Mistral, Qwen2 shapes) as nn's forward computes it:
// RMSNorm, rotary positions (rotate-half), grouped-query attention, SwiGLU MLP, optional
// biases, tied or untied head.
type llama[F Float] struct {
	net      *network[F]
	embed    *tensor[F]
	layers   []llamaLayer[F]
	norm     *tensor[F]
	head     *tensor[F]
	cos, sin []F
}

type llamaLayer[F Float] struct {
	attnNorm, mlpNorm *tensor[F]
	wq, wk, wv, wo    *tensor[F]
	bq, bk, bv, bo    *tensor[F]
	gate, up, down    *tensor[F]
	gateB, upB, downB *tensor[F]
}

type llamaActs[F Float] struct {
	xIn, h1, r1, q, k, v, att   []F
	xMid, h2, r2, gate, up, act []F
}

func newLlama[F Float](n *network[F], src source) (*llama[F], error) {
	c := n.cfg
	if c.RopeScaling != nil {
		return nil, fmt.Errorf("llama: rope_scaling %q has no trainer", c.RopeScaling.Type)
	}
	if c.HeadDim%2 != 0 || c.KVHeads == 0 || c.Heads%c.KVHeads != 0 {
		return nil, fmt.Errorf("llama: head_dim %d, %d heads, %d kv heads", c.HeadDim, c.Heads, c.KVHeads)
	}
	d, hd, I := c.Hidden, c.HeadDim, c.Intermed
	qDim, kvDim := c.Heads*hd, c.KVHeads*hd
	m := &llama[F]{net: n}
	var err error
	p := func(want bool, name string, shape ...int) *tensor[F] {
		if err != nil || !want {
			return nil
		}
		var t *tensor[F]
		t, err = n.param(src, name, shape...)
		return t
	}
	m.embed = p(true, "model.embed_tokens.weight", c.VocabSize, d)
	for l := range c.Layers {
		pre := fmt.Sprintf("model.layers.%d.", l)
		m.layers = append(m.layers, llamaLayer[F]{
			attnNorm: p(true, pre+"input_layernorm.weight", d),
			wq:       p(true, pre+"self_attn.q_proj.weight", qDim, d),
			bq:       p(c.QKVBias, pre+"self_attn.q_proj.bias", qDim),
			wk:       p(true, pre+"self_attn.k_proj.weight", kvDim, d),
			bk:       p(c.QKVBias, pre+"self_attn.k_proj.bias", kvDim),
			wv:       p(true, pre+"self_attn.v_proj.weight", kvDim, d),
			bv:       p(c.QKVBias, pre+"self_attn.v_proj.bias", kvDim),
			wo:       p(true, pre+"self_attn.o_proj.weight", d, qDim),
			bo:       p(c.OBias, pre+"self_attn.o_proj.bias", d),
			mlpNorm:  p(true, pre+"post_attention_layernorm.weight", d),
			gate:     p(true, pre+"mlp.gate_proj.weight", I, d),
			gateB:    p(c.MLPBias, pre+"mlp.gate_proj.bias", I),
			up:       p(true, pre+"mlp.up_proj.weight", I, d),
			upB:      p(c.MLPBias, pre+"mlp.up_proj.bias", I),
			down:     p(true, pre+"mlp.down_proj.weight", d, I),
			downB:    p(c.MLPBias, pre+"mlp.down_proj.bias", d),
		})
	}
	m.norm = p(true, "model.norm.weight", d)
	m.head = m.embed
	if !c.TieEmbeddings {
		m.head = p(true, "lm_head.weight", c.VocabSize, d)
	}
	if err != nil {
		return nil, fmt.Errorf("llama: %w", err)
	}
	return m, nil
}

// invFreq is transformers' unscaled rotary inverse frequency 1/θ^(2i/dim) in float32, as nn
// computes it.
func invFreq(theta float64, dim int) []float32 {
	inv := make([]float32, dim/2)
	for i := range inv {
		e := float32(2*i) / float32(dim)
		inv[i] = 1 / float32(math.Pow(theta, float64(e)))
	}
	return inv
}

// data returns t's values, or nil for an absent (optional) tensor.
func data[F Float](t *tensor[F]) []F {
	if t == nil {
		return nil
	}
	return t.data
}

func grad[F Float](t *tensor[F]) []F {
	if t == nil {
		return nil
	}
	return t.grad
}

func (m *llama[F]) lossGrad(ctx context.Context, ids []int32, B, L int, scale float64, wantGrad bool) (float64, error) {
	c := m.net.cfg
	n, d, hd, I := len(ids), c.Hidden, c.HeadDim, c.Intermed
	qDim, kvDim := c.Heads*hd, c.KVHeads*hd
	eps := c.NormEps
	if c.SlidingWindow > 0 && L > c.SlidingWindow {
		return 0, fmt.Errorf("rows of %d tokens exceed sliding_window %d", L, c.SlidingWindow)
	}
	if len(m.cos) < L*hd/2 {
		m.cos, m.sin = RopeTables[F](invFreq(c.RopeTheta, hd), L)
	}
	pos := make([]int, n)
	for i := range pos {
		pos[i] = i % L
	}
	x := make([]F, n*d)
	EmbeddingForward(x, m.embed.data, ids, d)
	tmp := make([]F, n*d)
	acts := make([]llamaActs[F], len(m.layers))
	for l, ly := range m.layers {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		a := &acts[l]
		a.xIn = append([]F(nil), x...)
		a.h1, a.r1 = make([]F, n*d), make([]F, n)
		RMSNormForward(a.h1, a.r1, x, ly.attnNorm.data, n, d, eps)
		a.q, a.k, a.v = make([]F, n*qDim), make([]F, n*kvDim), make([]F, n*kvDim)
		LinearForward(a.q, a.h1, ly.wq.data, data(ly.bq), n, d, qDim)
		LinearForward(a.k, a.h1, ly.wk.data, data(ly.bk), n, d, kvDim)
		LinearForward(a.v, a.h1, ly.wv.data, data(ly.bv), n, d, kvDim)
		RopeForward(a.q, m.cos, m.sin, pos, c.Heads, hd)
		RopeForward(a.k, m.cos, m.sin, pos, c.KVHeads, hd)
		a.att = make([]F, n*qDim)
		m.attention(a, B, L).Forward()
		LinearForward(tmp, a.att, ly.wo.data, data(ly.bo), n, qDim, d)
		addTo(x, tmp)
		a.xMid = append([]F(nil), x...)
		a.h2, a.r2 = make([]F, n*d), make([]F, n)
		RMSNormForward(a.h2, a.r2, x, ly.mlpNorm.data, n, d, eps)
		a.gate, a.up, a.act = make([]F, n*I), make([]F, n*I), make([]F, n*I)
		LinearForward(a.gate, a.h2, ly.gate.data, data(ly.gateB), n, d, I)
		LinearForward(a.up, a.h2, ly.up.data, data(ly.upB), n, d, I)
		SwiGLUForward(a.act, a.gate, a.up)
		LinearForward(tmp, a.act, ly.down.data, data(ly.downB), n, I, d)
		addTo(x, tmp)
		if !wantGrad {
			acts[l] = llamaActs[F]{}
		}
	}
	hf, rf := make([]F, n*d), make([]F, n)
	RMSNormForward(hf, rf, x, m.norm.data, n, d, eps)
	targets := shiftedTargets(ids, B, L)
	var dh []F
	if wantGrad {
		dh = make([]F, n*d)
	}
	loss := headLoss(hf, m.head, targets, n, d, scale, wantGrad, dh)
	if !wantGrad {
		return loss, nil
	}
	dx := make([]F, n*d)
	RMSNormBackward(dx, m.norm.grad, dh, x, rf, m.norm.data, n, d)
	dln := make([]F, n*d)
	dAct, dGate, dUp := make([]F, n*I), make([]F, n*I), make([]F, n*I)
	dAtt, dq := make([]F, n*qDim), make([]F, n*qDim)
	dk, dv := make([]F, n*kvDim), make([]F, n*kvDim)
	for l := len(m.layers) - 1; l >= 0; l-- {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		ly, a := m.layers[l], &acts[l]
		LinearBackward(dAct, ly.down.grad, grad(ly.downB), dx, a.act, ly.down.data, n, I, d)
		SwiGLUBackward(dGate, dUp, dAct, a.gate, a.up)
		LinearBackward(dln, ly.gate.grad, grad(ly.gateB), dGate, a.h2, ly.gate.data, n, d, I)
		LinearBackward(tmp, ly.up.grad, grad(ly.upB), dUp, a.h2, ly.up.data, n, d, I)
		addTo(dln, tmp)
		RMSNormBackward(dln, ly.mlpNorm.grad, dln, a.xMid, a.r2, ly.mlpNorm.data, n, d)
		addTo(dx, dln)
		LinearBackward(dAtt, ly.wo.grad, grad(ly.bo), dx, a.att, ly.wo.data, n, qDim, d)
		m.attention(a, B, L).Backward(dq, dk, dv, dAtt)
		RopeBackward(dq, m.cos, m.sin, pos, c.Heads, hd)
		RopeBackward(dk, m.cos, m.sin, pos, c.KVHeads, hd)
		LinearBackward(dln, ly.wq.grad, grad(ly.bq), dq, a.h1, ly.wq.data, n, d, qDim)
		LinearBackward(tmp, ly.wk.grad, grad(ly.bk), dk, a.h1, ly.wk.data, n, d, kvDim)
		addTo(dln, tmp)
		LinearBackward(tmp, ly.wv.grad, grad(ly.bv), dv, a.h1, ly.wv.data, n, d, kvDim)
		addTo(dln, tmp)
		RMSNormBackward(dln, ly.attnNorm.grad, dln, a.xIn, a.r1, ly.attnNorm.data, n, d)
		addTo(dx, dln)
		acts[l] = llamaActs[F]{}
	}
	EmbeddingBackward(m.embed.grad, dx, ids, d)
	return loss, nil
}

func (m *llama[F]) attention(a *llamaActs[F], B, L int) *Attention[F] {
	c := m.net.cfg
	return &Attention[F]{B: B, L: L, Heads: c.Heads, KVHeads: c.KVHeads, HeadDim: c.HeadDim,
		Scale: 1 / math.Sqrt(float64(c.HeadDim)), Q: a.q, QStride: c.Heads * c.HeadDim,
		K: a.k, V: a.v, KVStride: c.KVHeads * c.HeadDim, Out: a.att, OutStride: c.Heads * c.HeadDim}
}
