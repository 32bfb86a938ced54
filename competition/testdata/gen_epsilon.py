"""Epsilon and normalization vectors for competition's tests, computed with CPython from the
reference formulas (taoverse model/competition/epsilon.py and model/eval/normalization.py).

Run: python3 testdata/gen_epsilon.py > testdata/epsilon.json
Floats are written with repr(), which round-trips exactly.
"""
import json
import math
import random


def linear_decay(start, end, n, cur, model):
    block_difference = max(cur - model, 0)
    return start - min(block_difference / n, 1) * (start - end)


def inverse_exponential(score, ceiling):
    if score >= ceiling:
        return 1.0
    return (1 - math.exp(-score / ceiling)) / (1 - math.exp(-1))


rng = random.Random(9)
funcs = [(0.005, 0.001, 50400), (0.005, 0.0001, 14400), (0.005, 0.0005, 72000),
         (0.005, 0.0005, 50400), (0.005, 0.0002, 28800), (0.005, 0.0002, 36000),
         (0.005, 0.0005, 600)]
cases = []
for start, end, n in funcs:
    model = rng.randint(0, 6_000_000)
    deltas = [-5, 0, 1, n // 2, n - 1, n, n + 1, 10 * n] + [rng.randint(0, 2 * n) for _ in range(40)]
    for d in deltas:
        cases.append({"start": start, "end": end, "blocks": n, "current": model + d, "model": model,
                      "epsilon": repr(linear_decay(start, end, n, model + d, model))})
decayed = [{"start": s, "end": e, "blocks": n, "epsilon": repr(linear_decay(s, e, n, math.inf, 0))}
           for s, e, n in funcs]
norm = []
for _ in range(200):
    ceiling = rng.choice([1.0, 5.0, 10.0, 20.0])
    score = rng.uniform(0, 2 * ceiling)
    norm.append({"score": repr(score), "ceiling": ceiling, "value": repr(inverse_exponential(score, ceiling))})
json.dump({"linear_decay": cases, "decayed": decayed, "inverse_exponential": norm}, __import__("sys").stdout, separators=(",", ":"))
