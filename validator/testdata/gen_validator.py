"""Vectors for validator's pure parts: the reference's code run by CPython 3.11.

Run: python3 testdata/gen_validator.py > testdata/validator.json

Copied as the oracle: should_retry_model (macrocosm-os/pretraining pretrain/models/retry.py),
ModelTracker.on_model_evaluated's sort-and-trim and MinerIterator (macrocosm-os/taoverse), and
get_top_miners / get_high_stake_validators (taoverse metagraph/utils.py).
"""
import bisect
import json
import math
import random
import struct
import sys


class LinearDecay:
    def __init__(self, start, end, n):
        self.start, self.end, self.n = start, end, n

    def compute_epsilon(self, current_block, model_block):
        return self.start - min(max(current_block - model_block, 0) / self.n, 1) * (self.start - self.end)


def should_retry_model(epsilon_func, curr_block, eval_history):
    if not eval_history:
        return True
    last_successful_eval = None
    for r in reversed(eval_history):
        if r["score"] != math.inf:
            last_successful_eval = r
            break
    if last_successful_eval:
        if last_successful_eval["score"] > last_successful_eval["winning_model_score"]:
            return False
        curr_epsilon = epsilon_func.compute_epsilon(current_block=curr_block, model_block=last_successful_eval["winning_model_block"])
        top_model_score = last_successful_eval["winning_model_score"] * (1 - curr_epsilon)
        return last_successful_eval["score"] < top_model_score
    return len(eval_history) < 2


def enc(r):
    return {k: (repr(v) if isinstance(v, float) else v) for k, v in r.items()}


rng = random.Random(7)
retry = []
for _ in range(400):
    eps = LinearDecay(0.005, 0.0001, rng.choice([2000, 14400]))
    n = rng.choice([0, 1, 1, 2, 3])
    hist = []
    for i in range(n):
        win = rng.uniform(2, 3)
        score = rng.choice([math.inf, win, win * rng.uniform(0.99, 1.01), win * 0.998])
        hist.append({"block": 1000 + 100 * i, "score": score, "winning_model_block": rng.randint(0, 1000),
                     "winning_model_score": win})
    cur = 1000 + rng.randint(0, 20000)
    retry.append({"eps": [eps.start, eps.end, eps.n], "current_block": cur, "history": [enc(r) for r in hist],
                  "retry": should_retry_model(eps, cur, hist)})

# on_model_evaluated: append, sort by block (stable), pop the oldest beyond 3.
histories = []
for _ in range(50):
    results = []
    for _ in range(rng.randint(1, 12)):
        r = {"block": rng.randint(0, 30), "score": rng.random(), "winning_model_block": 0, "winning_model_score": 0.0}
        results.append(r)
    h = []
    for r in results:
        h.append(r)
        h.sort(key=lambda x: x["block"])
        if len(h) > 3:
            h.pop(0)
    histories.append({"results": [enc(r) for r in results], "kept": [enc(r) for r in h]})


class MinerIterator:
    def __init__(self, miner_uids, index):
        self.miner_uids = sorted(miner_uids)
        self.index = index

    def __next__(self):
        uid = self.miner_uids[self.index]
        self.index += 1
        if self.index >= len(self.miner_uids):
            self.index = 0
        return uid

    def set_miner_uids(self, miner_uids):
        sorted_uids = sorted(miner_uids)
        next_uid = self.miner_uids[self.index]
        new_index = bisect.bisect_left(sorted_uids, next_uid)
        if new_index >= len(sorted_uids):
            new_index = 0
        self.index = new_index
        self.miner_uids = sorted_uids


iterators = []
for _ in range(100):
    uids = rng.sample(range(256), rng.randint(1, 20))
    start = rng.randint(0, len(uids) - 1)
    it = MinerIterator(uids, start)
    ops = []
    for _ in range(rng.randint(1, 30)):
        if rng.random() < 0.2:
            new = rng.sample(range(256), rng.randint(1, 20))
            it.set_miner_uids(new)
            ops.append({"set": new})
        else:
            ops.append({"next": next(it)})
    iterators.append({"uids": uids, "start": start, "ops": ops})


def get_top_miners(S, permit, weights, min_vali_stake, min_miner_weight_percent):
    top = set()
    valis = {uid for uid, stake in enumerate(S) if stake >= min_vali_stake and permit[uid]}
    for uid in valis:
        row = weights[uid]
        total = sum(w for _, w in row)
        threshold = total * min_miner_weight_percent
        for u, w in row:
            if w >= threshold:
                top.add(u)
    return sorted(top)


top = []
for _ in range(100):
    n = rng.randint(1, 64)
    S = [rng.choice([0.0, 10.0, 1000.0, 60000.0, 2e6]) for _ in range(n)]
    permit = [rng.random() < 0.3 for _ in range(n)]
    weights = [[[u, rng.randint(0, 65535)] for u in sorted(rng.sample(range(n), rng.randint(0, min(n, 8))))] if rng.random() < 0.5 else [] for _ in range(n)]
    top.append({"stake": S, "permit": permit, "weights": weights,
                "top": get_top_miners(S, permit, weights, 50_000, 0.05)})

def f32(x):
    return struct.unpack("f", struct.pack("f", x))[0]


# The end of run_step: which uids a competition keeps evaluating (neurons/validator.py).
keep = []
for _ in range(200):
    n = rng.randint(1, 40)
    uids = rng.sample(range(n), rng.randint(1, n))
    scores = {u: rng.choice([math.inf, 2.5, rng.uniform(2, 3)]) for u in uids}
    competitive = [u for u in uids if rng.random() < 0.6]
    win_rate = {u: rng.choice([0.0, 0.5, 1.0, rng.random()]) for u in competitive}
    weights = [f32(rng.choice([0.0, 0.0005, 0.001, rng.random()])) for _ in range(n)]
    sample_min = rng.choice([1, 3, 5])
    model_prioritization = {uid: (1 + weights[uid] if weights[uid] >= 0.001 else wr) for uid, wr in win_rate.items()}
    models_to_keep = set(sorted(model_prioritization, key=model_prioritization.get, reverse=True)[:sample_min])
    if len(models_to_keep) < sample_min:
        for uid in sorted(scores, key=scores.get):
            if len(models_to_keep) >= sample_min:
                break
            models_to_keep.add(uid)
    keep.append({"models": [{"uid": u, "loss": repr(scores[u])} for u in uids], "competitive": competitive,
                 "win_rates": {str(u): repr(w) for u, w in win_rate.items()}, "weights": weights,
                 "sample_min": sample_min, "keep": sorted(models_to_keep)})

json.dump({"keep": keep, "retry": retry, "histories": histories, "iterators": iterators, "top_miners": top}, sys.stdout, separators=(",", ":"))
