"""Scoring vectors: the reference's functions run by CPython 3.11 and Debian's python3-torch.

Run: /usr/bin/python3 testdata/gen_scoring.py > testdata/scoring.json

The functions below are copied from the reference as the oracle:
- iswin, compute_wins, compute_competitive_uids: macrocosm-os/pretraining pretrain/validation.py
- LinearDecay: macrocosm-os/taoverse model/competition/epsilon.py
- the step weights, top uid and tracker calls: neurons/validator.py's
  _compute_and_set_competition_weights and taoverse CompetitionTracker
- convert_weights_and_uids_for_emit: bittensor (weight_utils.py)
Random scenarios include clones, equal blocks, failed (inf) models and non-transitive cycles.
"""
import json
import math
import random
import sys

import torch

U16_MAX = 65535


class LinearDecay:
    def __init__(self, start, end, n):
        self.start, self.end, self.n = start, end, n

    def compute_epsilon(self, current_block, model_block):
        block_difference = max(current_block - model_block, 0)
        return self.start - min(block_difference / self.n, 1) * (self.start - self.end)


def iswin(loss_i, loss_j, block_i, block_j, epsilon_func, current_block):
    loss_i = (1 - epsilon_func.compute_epsilon(current_block, block_i)) * loss_i if block_i < block_j else loss_i
    loss_j = (1 - epsilon_func.compute_epsilon(current_block, block_j)) * loss_j if block_j < block_i else loss_j
    return loss_i < loss_j


def compute_wins(uids, uid_to_average_loss, uid_to_block, epsilon_func, current_block):
    wins = {uid: 0 for uid in uids}
    win_rate = {uid: 0 for uid in uids}
    for uid_i in uids:
        total_matches = 0
        for uid_j in uids:
            if uid_i == uid_j:
                continue
            wins[uid_i] += 1 if iswin(uid_to_average_loss[uid_i], uid_to_average_loss[uid_j],
                                      uid_to_block[uid_i], uid_to_block[uid_j], epsilon_func, current_block) else 0
            total_matches += 1
        win_rate[uid_i] = wins[uid_i] / total_matches if total_matches > 0 else 1
    return wins, win_rate


def compute_competitive_uids(uid_to_average_loss, uid_to_block, epsilon_func):
    fully_decayed_epsilon = 1 - epsilon_func.compute_epsilon(current_block=math.inf, model_block=0)
    fully_decayed_losses = {uid: uid_to_average_loss[uid] * fully_decayed_epsilon for uid in uid_to_block}
    competitive_uids = []
    for uid, loss in uid_to_average_loss.items():
        earlier_uids = [i for i, block in uid_to_block.items() if i != uid and block <= uid_to_block[uid]]
        if all(loss < fully_decayed_losses[uid_other] for uid_other in earlier_uids):
            competitive_uids.append(uid)
    return competitive_uids


def convert_weights_and_uids_for_emit(uids, weights):
    weights = weights.tolist()
    uids = uids.tolist()
    if sum(weights) == 0:
        return [], []
    max_weight = float(max(weights))
    weights = [float(value) / max_weight for value in weights]
    weight_vals, weight_uids = [], []
    for weight_i, uid_i in zip(weights, uids):
        uint16_val = round(float(weight_i) * int(U16_MAX))
        if uint16_val != 0:
            weight_vals.append(uint16_val)
            weight_uids.append(uid_i)
    return weight_uids, weight_vals


def scenario(rng, n_neurons):
    k = rng.randint(1, 12)
    uids = rng.sample(range(n_neurons), k)
    base = rng.uniform(2.0, 4.0)
    losses, blocks = {}, {}
    for uid in uids:
        r = rng.random()
        if r < 0.15 and losses:  # a clone or near-clone of an earlier model
            src = rng.choice(list(losses))
            losses[uid] = losses[src] * rng.choice([1.0, 0.9999, 0.999])
            blocks[uid] = blocks[src] + rng.choice([0, 0, 5, 300])
        elif r < 0.22:
            losses[uid] = math.inf
            blocks[uid] = rng.randint(1000, 20000)
        else:
            losses[uid] = base * rng.uniform(0.98, 1.02)
            blocks[uid] = rng.randint(1000, 20000)
    return uids, losses, blocks


def run(uids, losses, blocks, eps, cur, n_neurons):
    uid_to_loss = {uid: losses[uid] for uid in uids}
    uid_to_block = {uid: blocks[uid] for uid in uids}
    competitive = compute_competitive_uids(uid_to_loss, uid_to_block, eps)
    wins, win_rate = compute_wins(competitive, uid_to_loss, uid_to_block, eps, cur)
    top = max(win_rate, key=win_rate.get) if win_rate else None
    model_weights = torch.tensor([win_rate.get(uid, 0) for uid in uids], dtype=torch.float32)
    step_weights = torch.softmax(model_weights / 0.01, dim=0)
    weights = torch.zeros(n_neurons, dtype=torch.float32)
    for i, uid in enumerate(uids):
        weights[uid] = step_weights[i]
    return {
        "models": [{"uid": u, "block": blocks[u], "loss": "inf" if math.isinf(losses[u]) else repr(losses[u])} for u in uids],
        "current_block": cur, "eps": [eps.start, eps.end, eps.n],
        "competitive": competitive, "wins": {str(k): v for k, v in wins.items()},
        "win_rates": {str(k): repr(float(v)) for k, v in win_rate.items()}, "top": top,
        "step_weights": [float(x) for x in weights.tolist()],
    }


rng = random.Random(2026)
steps = []
for _ in range(200):
    n = rng.randint(12, 40)
    uids, losses, blocks = scenario(rng, n)
    eps = rng.choice([LinearDecay(0.005, 0.0001, 14400), LinearDecay(0.005, 0.0005, 72000), LinearDecay(0.005, 0.0001, 2000)])
    cur = max(blocks.values()) + rng.randint(0, 30000)
    steps.append(run(uids, losses, blocks, eps, cur, n))
# The spec's non-transitive example and its win-rate example.
steps.append(run([1, 2, 3], {1: 2.50, 2: 2.49, 3: 2.48}, {1: 100, 2: 200, 3: 300}, LinearDecay(0.005, 0.0001, 14400), 400, 4))
steps.append(run([100, 50, 75], {100: 0.5, 50: 0.5, 75: 0.499}, {100: 1000, 50: 2000, 75: 2001}, LinearDecay(0.005, 0.0001, 2000), 2001, 101))


# CompetitionTracker sequences with torch float32, as taoverse computes them.
def tracker_case(rng):
    n0 = rng.randint(3, 8)
    comps = [(2, 0.3), (4, 0.7)] if rng.random() < 0.5 else [(6, 0.55), (2, 0.15), (4, 0.30)]
    weights_by_comp, num = {}, n0
    records = []
    for _ in range(rng.randint(1, 6)):
        cid = rng.choice(comps)[0]
        size = num + (rng.randint(1, 3) if rng.random() < 0.2 else 0)
        w = [0.0] * size if rng.random() < 0.1 else [rng.random() ** 3 for _ in range(size)]
        records.append({"competition": cid, "weights": w})
        new = torch.tensor(w, dtype=torch.float32)
        if size != num:
            for c in weights_by_comp:
                weights_by_comp[c] = torch.cat([weights_by_comp[c], torch.zeros(size - num, dtype=torch.float32)])
            num = size
        new /= new.sum()
        new = new.nan_to_num(0.0)
        if cid not in weights_by_comp:
            weights_by_comp[cid] = new
        else:
            weights_by_comp[cid] = 0.5 * weights_by_comp[cid] + (1 - 0.5) * new
    out = {}
    for threshold in (0.0, 0.3):
        subnet = torch.zeros(num, dtype=torch.float32)
        for cid, share in comps:
            if cid in weights_by_comp:
                cw = weights_by_comp[cid].clone()
                if threshold > 0:
                    cw /= cw.sum()
                    cw = cw.nan_to_num(0.0)
                    cw[cw < threshold] = 0.0
                    cw /= cw.sum()
                    cw = cw.nan_to_num(0.0)
                for i in range(num):
                    subnet[i] += cw[i] * share
        subnet /= subnet.sum()
        subnet = subnet.nan_to_num(0.0)
        out[str(threshold)] = subnet.tolist()
    uids, vals = convert_weights_and_uids_for_emit(torch.arange(num), torch.tensor(out["0.0"]))
    return {"schedule": [[c, s] for c, s in comps], "records": records,
            "by_competition": {str(c): w.tolist() for c, w in weights_by_comp.items()},
            "subnet": out["0.0"], "subnet_threshold_0.3": out["0.3"], "u16_uids": uids, "u16_vals": vals}


trackers = [tracker_case(rng) for _ in range(150)]

# u16 conversion on random float32 vectors, including exact .5 ties and tiny weights.
emits = []
for _ in range(200):
    n = rng.randint(1, 30)
    w = [rng.choice([0.0, rng.random(), rng.random() * 1e-6, 1.0]) for _ in range(n)]
    t = torch.tensor(w, dtype=torch.float32)
    uids, vals = convert_weights_and_uids_for_emit(torch.arange(n), t)
    emits.append({"weights": t.tolist(), "uids": uids, "vals": vals})
# Ties: exact float32 values whose scaled weights fall on .5, which Python's round sends to even.
t = torch.tensor([65535.0, 0.5, 1.5, 2.5, 3.5, 4.5, 131.5], dtype=torch.float32)
uids, vals = convert_weights_and_uids_for_emit(torch.arange(len(t)), t)
emits.append({"weights": t.tolist(), "uids": uids, "vals": vals})

json.dump({"torch": torch.__version__, "steps": steps, "trackers": trackers, "emits": emits}, sys.stdout, separators=(",", ":"))
