package train

import (
	"context"
	"fmt"
	"math"

	"github.com/pretrain/pretrain/nn"
)

// llama is the backward of the Llama family (Llama, Mistral, Qwen2 shapes) as nn's forward
// computes it: RMSNorm, rotary positions (rotate-half, any rope_scaling: the trace carries
// the tables), grouped-query attention, SwiGLU MLP, optional biases, tied or untied head.
type llama[F Float] struct {
	net    *network[F]
	embed  *tensor[F]
	layers []llamaLayer[F]
	norm   *tensor[F]
}

type llamaLayer[F Float] struct {
	attnNorm, mlpNorm *tensor[F]
	wq, wk, wv, wo    *tensor[F]
	bq, bk, bv, bo    *tensor[F]
	gate, up, down    *tensor[F]
	gateB, upB, downB *tensor[F]
}

func newLlama[F Float](n *network[F]) (arch[F], error) {
	c := n.cfg
	if c.HeadDim%2 != 0 || c.KVHeads == 0 || c.Heads%c.KVHeads != 0 {
		return nil, fmt.Errorf("llama: head_dim %d, %d heads, %d kv heads", c.HeadDim, c.Heads, c.KVHeads)
	}
	var err error
	p := func(want bool, name string) *tensor[F] {
		if !want {
			return nil
		}
		return n.tensor(&err, name)
	}
	m := &llama[F]{net: n, embed: p(true, "model.embed_tokens.weight")}
	for l := range c.Layers {
		pre := fmt.Sprintf("model.layers.%d.", l)
		m.layers = append(m.layers, llamaLayer[F]{
			attnNorm: p(true, pre+"input_layernorm.weight"),
			wq:       p(true, pre+"self_attn.q_proj.weight"),
			bq:       p(c.QKVBias, pre+"self_attn.q_proj.bias"),
			wk:       p(true, pre+"self_attn.k_proj.weight"),
			bk:       p(c.QKVBias, pre+"self_attn.k_proj.bias"),
			wv:       p(true, pre+"self_attn.v_proj.weight"),
			bv:       p(c.QKVBias, pre+"self_attn.v_proj.bias"),
			wo:       p(true, pre+"self_attn.o_proj.weight"),
			bo:       p(c.OBias, pre+"self_attn.o_proj.bias"),
			mlpNorm:  p(true, pre+"post_attention_layernorm.weight"),
			gate:     p(true, pre+"mlp.gate_proj.weight"),
			gateB:    p(c.MLPBias, pre+"mlp.gate_proj.bias"),
			up:       p(true, pre+"mlp.up_proj.weight"),
			upB:      p(c.MLPBias, pre+"mlp.up_proj.bias"),
			down:     p(true, pre+"mlp.down_proj.weight"),
			downB:    p(c.MLPBias, pre+"mlp.down_proj.bias"),
		})
	}
	m.norm = p(true, "model.norm.weight")
	if err != nil {
		return nil, fmt.Errorf("llama: %w", err)
	}
	return m, nil
}

// grad returns t's gradient, or nil for an absent (optional) tensor.
func grad[F Float](t *tensor[F]) []F {
	if t == nil {
		return nil
	}
	return t.grad
}

func (m *llama[F]) backward(ctx context.Context, tr *nn.Trace[F], ids []int32, B, L int, dh []F) error {
	c := m.net.cfg
	n, d, hd, I := len(ids), c.Hidden, c.HeadDim, c.Intermed
	qDim, kvDim := c.Heads*hd, c.KVHeads*hd
	pos := make([]int, n)
	for i := range pos {
		pos[i] = i % L
	}
	dx := make([]F, n*d)
	RMSNormBackward(dx, m.norm.grad, dh, tr.X, tr.Rstd, m.norm.data, n, d)
	dln, tmp := make([]F, n*d), make([]F, n*d)
	dAct, dGate, dUp := make([]F, n*I), make([]F, n*I), make([]F, n*I)
	dAtt, dq := make([]F, n*qDim), make([]F, n*qDim)
	dk, dv := make([]F, n*kvDim), make([]F, n*kvDim)
	for l := len(m.layers) - 1; l >= 0; l-- {
		if err := ctx.Err(); err != nil {
			return err
		}
		ly, a := m.layers[l], &tr.Layers[l]
		LinearBackward(dAct, ly.down.grad, grad(ly.downB), dx, a.Act, ly.down.data, n, I, d)
		SwiGLUBackward(dGate, dUp, dAct, a.Pre, a.Up)
		LinearBackward(dln, ly.gate.grad, grad(ly.gateB), dGate, a.Norm2, ly.gate.data, n, d, I)
		LinearBackward(tmp, ly.up.grad, grad(ly.upB), dUp, a.Norm2, ly.up.data, n, d, I)
		addTo(dln, tmp)
		RMSNormBackward(dln, ly.mlpNorm.grad, dln, a.XMid, a.Rstd2, ly.mlpNorm.data, n, d)
		addTo(dx, dln)
		LinearBackward(dAtt, ly.wo.grad, grad(ly.bo), dx, a.Att, ly.wo.data, n, qDim, d)
		att := &Attention[F]{B: B, L: L, Heads: c.Heads, KVHeads: c.KVHeads, HeadDim: hd,
			Scale: 1 / math.Sqrt(float64(hd)), Q: a.Q, QStride: qDim, K: a.K, V: a.V, KVStride: kvDim, OutStride: qDim}
		att.Backward(dq, dk, dv, dAtt)
		RopeBackward(dq, tr.Cos, tr.Sin, pos, c.Heads, hd)
		RopeBackward(dk, tr.Cos, tr.Sin, pos, c.KVHeads, hd)
		LinearBackward(dln, ly.wq.grad, grad(ly.bq), dq, a.Norm1, ly.wq.data, n, d, qDim)
		LinearBackward(tmp, ly.wk.grad, grad(ly.bk), dk, a.Norm1, ly.wk.data, n, d, kvDim)
		addTo(dln, tmp)
		LinearBackward(tmp, ly.wv.grad, grad(ly.bv), dv, a.Norm1, ly.wv.data, n, d, kvDim)
		addTo(dln, tmp)
		RMSNormBackward(dln, ly.attnNorm.grad, dln, a.X, a.Rstd1, ly.attnNorm.data, n, d)
		addTo(dx, dln)
		tr.Layers[l] = nn.LayerTrace[F]{} // done with this layer's activations
	}
	EmbeddingBackward(m.embed.grad, dx, ids, d)
	return nil
}
