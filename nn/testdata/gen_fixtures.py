#!/usr/bin/python3
"""Builds nn's reference fixtures with Debian's python3-torch (CPU, 1.13).

For each small random-weight model it writes testdata/models/NAME/ with config.json,
model.safetensors (written by the minimal writer below, independent of the Go one) and
expected.json: token batches, the loss of each batch exactly as compute_text_loss computes it
(CrossEntropyLoss over shift_logits/shift_labels), logits of one batch, greedy generations with
EOS suppressed (min_new_tokens = max_new_tokens = 20) and the sanity-check verdict computed with
the reference's own torch expressions, and sum(p.numel() for p in model.parameters()).

The forward passes are written here in torch from transformers' modeling_gpt2.py and
modeling_llama.py / modeling_qwen2.py / modeling_mistral.py (4.44), since Debian has no
transformers. Run: /usr/bin/python3 nn/testdata/gen_fixtures.py (deterministic: fixed seeds).
"""
import json
import math
import os
import struct

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "models")


def write_safetensors(path, tensors):
    header = {"__metadata__": {"format": "pt"}}
    blobs, off = [], 0
    for name in sorted(tensors):
        t = tensors[name].contiguous()
        if t.dtype == torch.float32:
            dt, b = "F32", t.numpy().tobytes()
        elif t.dtype == torch.bfloat16:
            dt, b = "BF16", t.view(torch.int16).numpy().tobytes()
        elif t.dtype == torch.float16:
            dt, b = "F16", t.numpy().tobytes()
        else:
            raise ValueError(t.dtype)
        header[name] = {"dtype": dt, "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


# ---- GPT-2 (modeling_gpt2.py) ----

def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


ACT = {"gelu_new": gelu_new, "gelu": F.gelu, "relu": F.relu, "silu": F.silu}


class Conv1D(nn.Module):
    def __init__(self, nf, nx):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(nx, nf))
        self.bias = nn.Parameter(torch.zeros(nf))

    def forward(self, x):
        return torch.addmm(self.bias, x.view(-1, x.size(-1)), self.weight).view(x.size()[:-1] + (self.weight.size(-1),))


class GPT2Block(nn.Module):
    def __init__(self, c, idx):
        super().__init__()
        d, inner = c["n_embd"], c.get("n_inner") or 4 * c["n_embd"]
        eps = c.get("layer_norm_epsilon", 1e-5)
        self.c, self.idx = c, idx
        self.ln_1 = nn.LayerNorm(d, eps=eps)
        self.attn = nn.Module()
        self.attn.c_attn = Conv1D(3 * d, d)
        self.attn.c_proj = Conv1D(d, d)
        self.ln_2 = nn.LayerNorm(d, eps=eps)
        self.mlp = nn.Module()
        self.mlp.c_fc = Conv1D(inner, d)
        self.mlp.c_proj = Conv1D(d, inner)

    def forward(self, x):
        c = self.c
        B, L, d = x.shape
        nh = c["n_head"]
        hd = d // nh
        h = self.ln_1(x)
        q, k, v = self.attn.c_attn(h).split(d, dim=2)
        q, k, v = [t.view(B, L, nh, hd).permute(0, 2, 1, 3) for t in (q, k, v)]
        w = torch.matmul(q, k.transpose(-1, -2))
        if c.get("scale_attn_weights", True):
            w = w / torch.full([], v.size(-1) ** 0.5, dtype=w.dtype)
        if c.get("scale_attn_by_inverse_layer_idx", False):
            w = w / float(self.idx + 1)
        causal = torch.tril(torch.ones(L, L, dtype=torch.bool))
        w = torch.where(causal, w, torch.full([], torch.finfo(w.dtype).min, dtype=w.dtype))
        w = F.softmax(w, dim=-1)
        a = torch.matmul(w, v).permute(0, 2, 1, 3).reshape(B, L, d)
        x = x + self.attn.c_proj(a)
        m = self.mlp.c_proj(ACT[c.get("activation_function", "gelu_new")](self.mlp.c_fc(self.ln_2(x))))
        return x + m


class GPT2(nn.Module):
    def __init__(self, c):
        super().__init__()
        d = c["n_embd"]
        self.c = c
        self.transformer = nn.Module()
        self.transformer.wte = nn.Embedding(c["vocab_size"], d)
        self.transformer.wpe = nn.Embedding(c["n_positions"], d)
        self.transformer.h = nn.ModuleList([GPT2Block(c, i) for i in range(c["n_layer"])])
        self.transformer.ln_f = nn.LayerNorm(d, eps=c.get("layer_norm_epsilon", 1e-5))
        self.lm_head = nn.Linear(d, c["vocab_size"], bias=False)
        if c.get("tie_word_embeddings", True):
            self.lm_head.weight = self.transformer.wte.weight

    def forward(self, ids):
        t = self.transformer
        pos = torch.arange(ids.shape[1]).unsqueeze(0)
        x = t.wte(ids) + t.wpe(pos)
        for b in t.h:
            x = b(x)
        return self.lm_head(t.ln_f(x))


# ---- Llama / Mistral / Qwen2 (modeling_llama.py 4.44) ----

class RMSNorm(nn.Module):
    def __init__(self, d, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        dt = x.dtype
        x = x.to(torch.float32)
        var = x.pow(2).mean(-1, keepdim=True)
        x = x * torch.rsqrt(var + self.eps)
        return self.weight * x.to(dt)


def rope_inv_freq(c, dim):
    base = c.get("rope_theta", 10000.0)
    inv = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))
    s = c.get("rope_scaling")
    if not s:
        return inv
    typ = s.get("rope_type", s.get("type"))
    if typ == "linear":
        return inv / s["factor"]
    if typ == "llama3":
        factor, low, high, old = s["factor"], s["low_freq_factor"], s["high_freq_factor"], s["original_max_position_embeddings"]
        low_wl, high_wl = old / low, old / high
        wavelen = 2 * math.pi / inv
        inv_l = torch.where(wavelen > low_wl, inv / factor, inv)
        smooth = (old / wavelen - low) / (high - low)
        smoothed = (1 - smooth) * inv_l / factor + smooth * inv_l
        medium = ~(wavelen < high_wl) * ~(wavelen > low_wl)
        return torch.where(medium, smoothed, inv_l)
    raise ValueError(typ)


def rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


class LlamaLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        d, nh, nkv = c["hidden_size"], c["num_attention_heads"], c["num_key_value_heads"]
        hd = c.get("head_dim") or d // nh
        qkv_bias = c["model_type"] == "qwen2" or c.get("attention_bias", False)
        o_bias = c["model_type"] != "qwen2" and c.get("attention_bias", False)
        mlp_bias = c.get("mlp_bias", False)
        self.c, self.hd = c, hd
        self.input_layernorm = RMSNorm(d, c["rms_norm_eps"])
        self.post_attention_layernorm = RMSNorm(d, c["rms_norm_eps"])
        self.self_attn = nn.Module()
        self.self_attn.q_proj = nn.Linear(d, nh * hd, bias=qkv_bias)
        self.self_attn.k_proj = nn.Linear(d, nkv * hd, bias=qkv_bias)
        self.self_attn.v_proj = nn.Linear(d, nkv * hd, bias=qkv_bias)
        self.self_attn.o_proj = nn.Linear(nh * hd, d, bias=o_bias)
        self.mlp = nn.Module()
        self.mlp.gate_proj = nn.Linear(d, c["intermediate_size"], bias=mlp_bias)
        self.mlp.up_proj = nn.Linear(d, c["intermediate_size"], bias=mlp_bias)
        self.mlp.down_proj = nn.Linear(c["intermediate_size"], d, bias=mlp_bias)

    def forward(self, x, cos, sin):
        c, hd = self.c, self.hd
        B, L, _ = x.shape
        nh, nkv = c["num_attention_heads"], c["num_key_value_heads"]
        a = self.self_attn
        h = self.input_layernorm(x)
        q = a.q_proj(h).view(B, L, nh, hd).transpose(1, 2)
        k = a.k_proj(h).view(B, L, nkv, hd).transpose(1, 2)
        v = a.v_proj(h).view(B, L, nkv, hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(nh // nkv, dim=1)
        v = v.repeat_interleave(nh // nkv, dim=1)
        w = torch.matmul(q, k.transpose(2, 3)) / math.sqrt(hd)
        mask = torch.full((L, L), torch.finfo(w.dtype).min).triu(1)
        w = F.softmax(w + mask, dim=-1, dtype=torch.float32)
        o = torch.matmul(w, v).transpose(1, 2).reshape(B, L, nh * hd)
        x = x + a.o_proj(o)
        h = self.post_attention_layernorm(x)
        m = self.mlp
        return x + m.down_proj(F.silu(m.gate_proj(h)) * m.up_proj(h))


class Llama(nn.Module):
    def __init__(self, c):
        super().__init__()
        d = c["hidden_size"]
        self.c = c
        self.model = nn.Module()
        self.model.embed_tokens = nn.Embedding(c["vocab_size"], d)
        self.model.layers = nn.ModuleList([LlamaLayer(c) for _ in range(c["num_hidden_layers"])])
        self.model.norm = RMSNorm(d, c["rms_norm_eps"])
        self.lm_head = nn.Linear(d, c["vocab_size"], bias=False)
        if c.get("tie_word_embeddings", False):
            self.lm_head.weight = self.model.embed_tokens.weight
        hd = c.get("head_dim") or d // c["num_attention_heads"]
        self.register_buffer("inv_freq", rope_inv_freq(c, hd), persistent=False)

    def forward(self, ids):
        L = ids.shape[1]
        pos = torch.arange(L).float()[None, :]
        freqs = (self.inv_freq[None, :, None].float() @ pos[:, None, :]).transpose(1, 2)
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos()[:, None], emb.sin()[:, None]
        x = self.model.embed_tokens(ids)
        for layer in self.model.layers:
            x = layer(x, cos, sin)
        return self.lm_head(self.model.norm(x)).float()


# ---- fixtures ----

def randomize(model, gen, std):
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight") or ".ln_" in name or name.endswith("ln_f.weight"):
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=gen))
            elif name.endswith("bias"):
                p.copy_(0.2 * torch.randn(p.shape, generator=gen))
            elif "wte" in name or "embed" in name or "wpe" in name:
                p.copy_(torch.randn(p.shape, generator=gen))
            else:
                p.copy_(std * torch.randn(p.shape, generator=gen))


def compute_text_loss(model, batch, vocab):
    # pretrain/eval/method.py, packed mode.
    inputs = torch.tensor(batch)
    logits = model(inputs)
    shift_logits = logits[..., :-1, :].contiguous()
    shift_labels = inputs[..., 1:].contiguous()
    return torch.nn.CrossEntropyLoss()(shift_logits.view(-1, vocab), shift_labels.view(-1)).item()


def greedy(model, prompt, eos, n=20, gen_cfg=None):
    gen_cfg = gen_cfg or {}
    ids = list(prompt)
    out = []
    for _ in range(n):
        logits = model(torch.tensor([ids]))[0, -1].clone()
        pen = gen_cfg.get("repetition_penalty", 1.0)
        if pen != 1.0:  # RepetitionPenaltyLogitsProcessor
            idx = torch.tensor(ids)
            score = torch.gather(logits, 0, idx)
            score = torch.where(score < 0, score * pen, score / pen)
            logits.scatter_(0, idx, score)
        ng = gen_cfg.get("no_repeat_ngram_size", 0)
        if ng and len(ids) + 1 >= ng:  # NoRepeatNGramLogitsProcessor
            grams = {}
            for i in range(len(ids) - ng + 1):
                g = tuple(ids[i:i + ng])
                grams.setdefault(g[:-1], []).append(g[-1])
            for t in grams.get(tuple(ids[len(ids) - ng + 1:]), []):
                logits[t] = -float("inf")
        for e in eos:
            logits[e] = -float("inf")  # min_new_tokens = 20 covers every step
        t = int(torch.argmax(logits))
        out.append(t)
        ids.append(t)
    return out


def reasonable(g1, g2):
    # check_for_reasonable_output's two rules, same torch expressions.
    a, b = torch.tensor([g1]), torch.tensor([g2])
    if torch.sum(torch.eq(a, b)).item() >= 20 / 2:
        return False
    counts = []
    for t in (a, b):
        _, c = torch.unique(t, return_counts=True)
        counts.append(c[torch.argmax(c)].item())
    return not all(c > 20 / 2 for c in counts)


def build(name, cfg, dtype, seq_lens, seed, std=0.15, prefix=True, mutate=None, gen_cfg=None):
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = GPT2(cfg) if cfg["model_type"] == "gpt2" else Llama(cfg)
    randomize(model, gen, std)
    if mutate:
        mutate(model)
    vocab = cfg["vocab_size"]
    tensors = {}
    # named_parameters lists a tied lm_head once, under the embedding's name, so the tied
    # weight is saved once as save_pretrained does.
    for k, p in model.named_parameters():
        key = k if prefix or not k.startswith("transformer.") else k[len("transformer."):]
        tensors[key] = p.detach().to(dtype)
    # The reference computes in float32 from the stored values.
    with torch.no_grad():
        for k, p in model.named_parameters():
            p.copy_(p.to(dtype).float())
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    write_safetensors(os.path.join(d, "model.safetensors"), tensors)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=1)
    if gen_cfg:
        with open(os.path.join(d, "generation_config.json"), "w") as f:
            json.dump(gen_cfg, f, indent=1)
    batches = []
    for L, B in seq_lens:
        batches.append(torch.randint(0, vocab, (B, L), generator=gen).tolist())
    with torch.no_grad():
        losses = [compute_text_loss(model, b, vocab) for b in batches]
        logit_batch = next(i for i, b in enumerate(batches) if len(b[0]) == 17)
        logits = model(torch.tensor(batches[logit_batch][:1]))[0]
        eos = cfg["eos_token_id"]
        eos = eos if isinstance(eos, list) else [eos]
        p1 = torch.randint(0, vocab, (100,), generator=gen).tolist()
        p2 = torch.randint(0, vocab, (100,), generator=gen).tolist()
        if gen_cfg and "eos_token_id" in gen_cfg:
            eos = gen_cfg["eos_token_id"] if isinstance(gen_cfg["eos_token_id"], list) else [gen_cfg["eos_token_id"]]
        g1, g2 = greedy(model, p1, eos, gen_cfg=gen_cfg), greedy(model, p2, eos, gen_cfg=gen_cfg)
    exp = {
        "batches": batches,
        "losses": [l if math.isfinite(l) else str(l) for l in losses],
        "logits_batch": logit_batch,
        "logits": [round(float(v), 7) for v in logits.flatten()],
        "prompts": [p1, p2],
        "generated": [g1, g2],
        "reasonable": reasonable(g1, g2),
        "params": sum(p.numel() for p in model.parameters()),
    }
    with open(os.path.join(d, "expected.json"), "w") as f:
        json.dump(exp, f)
    print(name, "losses", [round(l, 5) for l in losses], "reasonable", exp["reasonable"], "params", exp["params"])


SEQS = [(1, 1), (2, 1), (17, 1), (33, 2), (64, 1), (1024, 1)]

def main():
    gpt2 = dict(architectures=["GPT2LMHeadModel"], model_type="gpt2", vocab_size=101, n_embd=32, n_layer=2,
                n_head=4, n_positions=1024, bos_token_id=100, eos_token_id=100)
    build("gpt2-f32", gpt2, torch.float32, SEQS, 1)
    build("gpt2-bf16-untied", dict(gpt2, tie_word_embeddings=False, activation_function="gelu",
                                    scale_attn_by_inverse_layer_idx=True, n_inner=48, layer_norm_epsilon=1e-6,
                                    n_positions=128),
          torch.bfloat16, [(1, 1), (17, 1), (128, 1)], 2, prefix=False)
    llama = dict(architectures=["LlamaForCausalLM"], model_type="llama", vocab_size=97, hidden_size=48,
                 intermediate_size=80, num_hidden_layers=2, num_attention_heads=6, num_key_value_heads=2,
                 rms_norm_eps=1e-5, rope_theta=500000.0, max_position_embeddings=2048,
                 rope_scaling=dict(rope_type="llama3", factor=8.0, low_freq_factor=1.0, high_freq_factor=4.0,
                                   original_max_position_embeddings=256),
                 tie_word_embeddings=False, bos_token_id=1, eos_token_id=2, hidden_act="silu")
    build("llama-gqa-f32", llama, torch.float32, SEQS, 3)
    build("llama-tied-bf16", dict(llama, num_key_value_heads=6, tie_word_embeddings=True, rope_theta=10000.0,
                                  rope_scaling=dict(type="linear", factor=2.0), eos_token_id=[2, 3]),
          torch.bfloat16, [(1, 1), (17, 1), (300, 1)], 4)
    build("qwen2-f32", dict(llama, architectures=["Qwen2ForCausalLM"], model_type="qwen2", rope_scaling=None,
                            rope_theta=1000000.0, tie_word_embeddings=True, eos_token_id=96),
          torch.float32, [(2, 1), (17, 1), (200, 1)], 5)
    build("mistral-f16", dict(llama, architectures=["MistralForCausalLM"], model_type="mistral", rope_scaling=None,
                              head_dim=16, num_attention_heads=4, num_key_value_heads=2, sliding_window=4096),
          torch.float16, [(17, 1), (100, 1)], 6)

    # generation_config.json with a repetition penalty, an n-gram ban and its own EOS id,
    # on the same weights as llama-degenerate's parent, so the continuations differ.
    build("llama-genconfig", llama, torch.float32, [(17, 1)], 3,
          gen_cfg={"repetition_penalty": 1.3, "no_repeat_ngram_size": 2, "eos_token_id": 5})

    def degenerate(m):
        with torch.no_grad():
            m.model.norm.weight.zero_()  # every logit 0: greedy picks token 0, or 1 with EOS 0 banned
    build("llama-degenerate", dict(llama, eos_token_id=0), torch.float32, [(17, 1)], 7, mutate=degenerate)


if __name__ == "__main__":
    main()
