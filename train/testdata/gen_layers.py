#!/usr/bin/python3
"""Writes layers.json: for each layer the Go trainer differentiates (the cases of
layers_test.go, same shapes and constants), random float64 inputs, an output gradient dy,
and PyTorch's output and autograd input gradients (torch.float64).

Run with Debian's python3-torch (1.13): /usr/bin/python3 gen_layers.py
"""
import json
import math

import torch
import torch.nn.functional as F

torch.manual_seed(1)
D = torch.float64


def gelu_new(x):
    return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


def rope(x, pos, heads, hd, theta=10000.0):
    inv = 1.0 / (theta ** (torch.arange(0, hd, 2, dtype=torch.int64).float() / hd))
    ang = (torch.tensor(pos, dtype=torch.float32)[:, None] * inv[None, :]).to(D)
    cos, sin = torch.cat([ang.cos()] * 2, -1)[:, None, :], torch.cat([ang.sin()] * 2, -1)[:, None, :]
    v = x.reshape(len(pos), heads, hd)
    rot = torch.cat([-v[..., hd // 2:], v[..., : hd // 2]], -1)
    return (v * cos + rot * sin).reshape(-1)


def attention(q, k, v, B, L, H, KV, hd, scale):
    q = q.reshape(B, L, H, hd).transpose(1, 2)
    k = k.reshape(B, L, KV, hd).transpose(1, 2).repeat_interleave(H // KV, 1)
    v = v.reshape(B, L, KV, hd).transpose(1, 2).repeat_interleave(H // KV, 1)
    s = (q @ k.transpose(-1, -2)) * scale
    s = s.masked_fill(~torch.ones(L, L, dtype=torch.bool).tril(), float("-inf"))
    return (torch.softmax(s, -1) @ v).transpose(1, 2).reshape(-1)


def cross_entropy(logits, targets):
    lg = logits.reshape(len(targets), -1)
    keep = [i for i, t in enumerate(targets) if t >= 0]
    return F.cross_entropy(lg[keep], torch.tensor([targets[i] for i in keep]), reduction="sum").reshape(1)


ln, ld = 3, 8
CASES = {
    "linear": ({"x": ln * 5, "w": 20, "b": 4}, lambda p: F.linear(p["x"].reshape(ln, 5), p["w"].reshape(4, 5), p["b"])),
    "conv1d": ({"x": ln * 5, "w": 20, "b": 4}, lambda p: p["x"].reshape(ln, 5) @ p["w"].reshape(5, 4) + p["b"]),
    "embedding": ({"table": 3 * ld}, lambda p: p["table"].reshape(3, ld)[torch.tensor([2, 0, 2, 1])]),
    "layernorm": ({"x": ln * ld, "w": ld, "b": ld},
                  lambda p: F.layer_norm(p["x"].reshape(ln, ld), (ld,), p["w"], p["b"], 1e-5)),
    "rmsnorm": ({"x": ln * ld, "w": ld},
                lambda p: p["x"].reshape(ln, ld) * torch.rsqrt((p["x"].reshape(ln, ld) ** 2).mean(-1, keepdim=True) + 1e-5) * p["w"]),
    "gelu_new": ({"x": 20}, lambda p: gelu_new(p["x"])),
    "swiglu": ({"gate": 20, "up": 20}, lambda p: F.silu(p["gate"]) * p["up"]),
    "rope": ({"x": 24}, lambda p: rope(p["x"], [0, 3, 4], 2, 4)),
    "attention_gqa": ({"q": 96, "k": 48, "v": 48}, lambda p: attention(p["q"], p["k"], p["v"], 2, 4, 4, 2, 3, 0.7)),
    "cross_entropy": ({"logits": 24}, lambda p: cross_entropy(p["logits"], [1, -1, 5, 0])),
}

out = {}
for name, (shapes, fn) in CASES.items():
    p = {k: torch.randn(n, dtype=D, requires_grad=True) for k, n in shapes.items()}
    y = fn(p).reshape(-1)
    dy = torch.randn(y.shape, dtype=D)
    (y * dy).sum().backward()
    out[name] = {
        "inputs": {k: v.detach().tolist() for k, v in p.items()},
        "dy": dy.tolist(),
        "out": y.detach().tolist(),
        "grads": {k: v.grad.tolist() for k, v in p.items()},
    }
with open("layers.json", "w") as f:
    json.dump(out, f)
