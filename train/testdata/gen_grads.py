#!/usr/bin/python3
"""Writes grads_*.json: tiny GPT-2 and Llama-family models, their weights, a token batch, the
mean cross-entropy loss and the gradient of every parameter, computed by PyTorch autograd in
float64 on a hand-written forward that follows transformers' GPT2LMHeadModel and
LlamaForCausalLM (eager attention). Weights are drawn in float32 so the Go float32 trainer
reads exactly the same values.

Run with Debian's python3-torch (1.13): /usr/bin/python3 gen_grads.py
"""
import json
import math

import torch

torch.manual_seed(0)
D = torch.float64


def rnd(*shape, std=0.3, mean=0.0):
    return (torch.randn(*shape, dtype=torch.float32) * std + mean).to(D)


def layer_norm(x, w, b, eps):
    mu = x.mean(-1, keepdim=True)
    var = ((x - mu) ** 2).mean(-1, keepdim=True)
    return (x - mu) / torch.sqrt(var + eps) * w + b


def rms_norm(x, w, eps):
    return x * torch.rsqrt((x * x).mean(-1, keepdim=True) + eps) * w


def gelu_new(x):
    return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


def attend(q, k, v, scale):
    # q: B,H,L,hd; k, v: B,H,L,hd (kv heads already repeated)
    L = q.shape[2]
    s = q @ k.transpose(-1, -2) * scale
    mask = torch.ones(L, L, dtype=torch.bool).tril()
    s = s.masked_fill(~mask, float("-inf"))
    return torch.softmax(s, -1) @ v


def loss_of(logits, ids):
    V = logits.shape[-1]
    return torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, V), ids[:, 1:].reshape(-1))


def gpt2(cfg, ids):
    V, d, nl, H = cfg["vocab_size"], cfg["n_embd"], cfg["n_layer"], cfg["n_head"]
    P, inner, eps = cfg["n_positions"], 4 * cfg["n_embd"], 1e-5
    hd = d // H
    p = {"transformer.wte.weight": rnd(V, d), "transformer.wpe.weight": rnd(P, d, std=0.1)}
    for l in range(nl):
        h = f"transformer.h.{l}."
        p[h + "ln_1.weight"] = rnd(d, std=0.2, mean=1)
        p[h + "ln_1.bias"] = rnd(d, std=0.1)
        p[h + "attn.c_attn.weight"] = rnd(d, 3 * d)
        p[h + "attn.c_attn.bias"] = rnd(3 * d, std=0.1)
        p[h + "attn.c_proj.weight"] = rnd(d, d)
        p[h + "attn.c_proj.bias"] = rnd(d, std=0.1)
        p[h + "ln_2.weight"] = rnd(d, std=0.2, mean=1)
        p[h + "ln_2.bias"] = rnd(d, std=0.1)
        p[h + "mlp.c_fc.weight"] = rnd(d, inner)
        p[h + "mlp.c_fc.bias"] = rnd(inner, std=0.1)
        p[h + "mlp.c_proj.weight"] = rnd(inner, d, std=0.15)
        p[h + "mlp.c_proj.bias"] = rnd(d, std=0.1)
    p["transformer.ln_f.weight"] = rnd(d, std=0.2, mean=1)
    p["transformer.ln_f.bias"] = rnd(d, std=0.1)
    tied = cfg.get("tie_word_embeddings", True)
    if not tied:
        p["lm_head.weight"] = rnd(V, d)
    for t in p.values():
        t.requires_grad_(True)
    B, L = ids.shape
    x = p["transformer.wte.weight"][ids] + p["transformer.wpe.weight"][:L]
    for l in range(nl):
        h = f"transformer.h.{l}."
        a = layer_norm(x, p[h + "ln_1.weight"], p[h + "ln_1.bias"], eps)
        qkv = a @ p[h + "attn.c_attn.weight"] + p[h + "attn.c_attn.bias"]
        q, k, v = (t.reshape(B, L, H, hd).transpose(1, 2) for t in qkv.split(d, -1))
        scale = 1 / math.sqrt(hd)
        if cfg.get("scale_attn_by_inverse_layer_idx"):
            scale /= l + 1
        o = attend(q, k, v, scale).transpose(1, 2).reshape(B, L, d)
        x = x + o @ p[h + "attn.c_proj.weight"] + p[h + "attn.c_proj.bias"]
        a = layer_norm(x, p[h + "ln_2.weight"], p[h + "ln_2.bias"], eps)
        f = gelu_new(a @ p[h + "mlp.c_fc.weight"] + p[h + "mlp.c_fc.bias"])
        x = x + f @ p[h + "mlp.c_proj.weight"] + p[h + "mlp.c_proj.bias"]
    x = layer_norm(x, p["transformer.ln_f.weight"], p["transformer.ln_f.bias"], eps)
    head = p["transformer.wte.weight"] if tied else p["lm_head.weight"]
    return p, loss_of(x @ head.T, ids)


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], -1)


def llama(cfg, ids):
    V, d, nl = cfg["vocab_size"], cfg["hidden_size"], cfg["num_hidden_layers"]
    H, KV, I = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["intermediate_size"]
    eps, theta = cfg["rms_norm_eps"], cfg["rope_theta"]
    hd = d // H
    ab, mb = cfg.get("attention_bias", False), cfg.get("mlp_bias", False)
    p = {"model.embed_tokens.weight": rnd(V, d)}
    for l in range(nl):
        h = f"model.layers.{l}."
        p[h + "input_layernorm.weight"] = rnd(d, std=0.2, mean=1)
        for n, o, i in (("q", H * hd, d), ("k", KV * hd, d), ("v", KV * hd, d), ("o", d, H * hd)):
            p[h + f"self_attn.{n}_proj.weight"] = rnd(o, i)
            if ab:
                p[h + f"self_attn.{n}_proj.bias"] = rnd(o, std=0.1)
        p[h + "post_attention_layernorm.weight"] = rnd(d, std=0.2, mean=1)
        for n, o, i in (("gate", I, d), ("up", I, d), ("down", d, I)):
            p[h + f"mlp.{n}_proj.weight"] = rnd(o, i)
            if mb:
                p[h + f"mlp.{n}_proj.bias"] = rnd(o, std=0.1)
    p["model.norm.weight"] = rnd(d, std=0.2, mean=1)
    tied = cfg.get("tie_word_embeddings", False)
    if not tied:
        p["lm_head.weight"] = rnd(V, d)
    for t in p.values():
        t.requires_grad_(True)
    B, L = ids.shape
    # Rotary tables as the Go trainer and nn build them: float32 inverse frequencies and
    # float32 angles, cosines taken in float64.
    inv = 1.0 / (theta ** (torch.arange(0, hd, 2, dtype=torch.int64).float() / hd))
    ang = (torch.arange(L, dtype=torch.float32)[:, None] * inv[None, :]).to(D)
    cos, sin = torch.cat([ang.cos()] * 2, -1), torch.cat([ang.sin()] * 2, -1)

    def lin(x, name):
        y = x @ p[name + ".weight"].T
        return y + p[name + ".bias"] if name + ".bias" in p else y

    x = p["model.embed_tokens.weight"][ids]
    for l in range(nl):
        h = f"model.layers.{l}."
        a = rms_norm(x, p[h + "input_layernorm.weight"], eps)
        q = lin(a, h + "self_attn.q_proj").reshape(B, L, H, hd).transpose(1, 2)
        k = lin(a, h + "self_attn.k_proj").reshape(B, L, KV, hd).transpose(1, 2)
        v = lin(a, h + "self_attn.v_proj").reshape(B, L, KV, hd).transpose(1, 2)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        k, v = k.repeat_interleave(H // KV, 1), v.repeat_interleave(H // KV, 1)
        o = attend(q, k, v, 1 / math.sqrt(hd)).transpose(1, 2).reshape(B, L, H * hd)
        x = x + lin(o, h + "self_attn.o_proj")
        a = rms_norm(x, p[h + "post_attention_layernorm.weight"], eps)
        g = torch.nn.functional.silu(lin(a, h + "mlp.gate_proj")) * lin(a, h + "mlp.up_proj")
        x = x + lin(g, h + "mlp.down_proj")
    x = rms_norm(x, p["model.norm.weight"], eps)
    head = p["model.embed_tokens.weight"] if tied else p["lm_head.weight"]
    return p, loss_of(x @ head.T, ids)


CASES = {
    "gpt2": (gpt2, {"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "vocab_size": 37, "n_embd": 16,
                    "n_layer": 2, "n_head": 2, "n_positions": 16}),
    "gpt2_untied": (gpt2, {"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "vocab_size": 29, "n_embd": 12,
                           "n_layer": 2, "n_head": 3, "n_positions": 12, "tie_word_embeddings": False,
                           "scale_attn_by_inverse_layer_idx": True}),
    "llama": (llama, {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 37,
                      "hidden_size": 16, "intermediate_size": 24, "num_hidden_layers": 2, "num_attention_heads": 4,
                      "num_key_value_heads": 2, "max_position_embeddings": 32, "rms_norm_eps": 1e-5,
                      "rope_theta": 10000.0, "tie_word_embeddings": True}),
    "llama_untied_bias": (llama, {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 31,
                                  "hidden_size": 12, "intermediate_size": 20, "num_hidden_layers": 2,
                                  "num_attention_heads": 3, "num_key_value_heads": 1,
                                  "max_position_embeddings": 32, "rms_norm_eps": 1e-6, "rope_theta": 500000.0,
                                  "tie_word_embeddings": False, "attention_bias": True, "mlp_bias": True}),
}

for name, (fn, cfg) in CASES.items():
    ids = torch.randint(0, cfg["vocab_size"], (2, 7))
    p, loss = fn(cfg, ids)
    loss.backward()
    out = {
        "config": cfg,
        "ids": ids.tolist(),
        "loss": loss.item(),
        "params": {k: {"shape": list(v.shape), "data": v.detach().flatten().tolist()} for k, v in p.items()},
        "grads": {k: v.grad.flatten().tolist() for k, v in p.items()},
    }
    with open(f"grads_{name}.json", "w") as f:
        json.dump(out, f)
    print(name, loss.item())
