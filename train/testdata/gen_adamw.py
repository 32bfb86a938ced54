"""AdamW and gradient-clipping vectors from Debian's python3-torch (CPU, float32).

Run: /usr/bin/python3 testdata/gen_adamw.py > testdata/adamw.json
Two parameter tensors (one decayed, one not, as the trainer groups weights and norms/biases),
random gradients for 20 steps with a changing learning rate, clip_grad_norm_ before each step.
"""
import json
import sys

import torch

torch.manual_seed(0)
w = torch.nn.Parameter(torch.randn(37))
b = torch.nn.Parameter(torch.randn(5))
init = [w.detach().clone().tolist(), b.detach().clone().tolist()]
opt = torch.optim.AdamW([{"params": [w], "weight_decay": 0.1}, {"params": [b], "weight_decay": 0.0}],
                        lr=1e-3, betas=(0.9, 0.95), eps=1e-8, foreach=False)
steps = []
for i in range(20):
    gw, gb = torch.randn(37) * (3 if i % 4 == 0 else 0.3), torch.randn(5)
    w.grad, b.grad = gw.clone(), gb.clone()
    norm = torch.nn.utils.clip_grad_norm_([w, b], 1.0)
    lr = 1e-3 * (i + 1) / 20
    for g in opt.param_groups:
        g["lr"] = lr
    opt.step()
    steps.append({"grads": [gw.tolist(), gb.tolist()], "lr": lr, "norm": float(norm),
                  "params": [w.detach().tolist(), b.detach().tolist()]})
json.dump({"torch": torch.__version__, "init": init, "steps": steps}, sys.stdout)
