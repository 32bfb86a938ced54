# Recompute a validator step log's competitive uids, wins, win rates, top uid and softmax step
# weights from its logged scores and blocks with the reference's formulas
# (pretrain/validation.py @ 42328de: compute_competitive_uids, compute_wins, iswin; taoverse's
# LinearDecay; the softmax at temperature 0.01 of run_step), and fail on any difference.
# Run: python3 recompute_step.py STEPS.jsonl EPS_START EPS_END EPS_BLOCKS
import json, math, sys

path, start, end, blocks = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])

def compute_epsilon(current_block, model_block):
    delta = max(current_block - model_block, 0)
    return start - min(delta / blocks, 1) * (start - end)

def iswin(loss_i, loss_j, block_i, block_j, cur):
    loss_i = (1 - compute_epsilon(cur, block_i)) * loss_i if block_i < block_j else loss_i
    loss_j = (1 - compute_epsilon(cur, block_j)) * loss_j if block_j < block_i else loss_j
    return loss_i < loss_j

def compute_competitive_uids(uid_to_score, uid_to_block):
    f = 1 - compute_epsilon(math.inf, 0)
    out = []
    for uid, score in uid_to_score.items():
        if all(score < uid_to_score[o] * f for o in uid_to_score if o != uid and uid_to_block[o] <= uid_to_block[uid]):
            out.append(uid)
    return out

def compute_wins(uids, uid_to_score, uid_to_block, cur):
    wins = {uid: 0 for uid in uids}
    win_rate = {uid: 0 for uid in uids}
    for i, uid_i in enumerate(uids):
        total = 0
        for j, uid_j in enumerate(uids):
            if i == j:
                continue
            wins[uid_i] += 1 if iswin(uid_to_score[uid_i], uid_to_score[uid_j], uid_to_block[uid_i], uid_to_block[uid_j], cur) else 0
            total += 1
        win_rate[uid_i] = wins[uid_i] / total if total > 0 else 1.0
    return wins, win_rate

checked = 0
for line in open(path):
    rec = json.loads(line)
    uids = rec["uids"]
    data = {u: rec["uid_data"][str(u)] for u in uids}
    score = {u: (d["average_loss"] if d["average_loss"] is not None else math.inf) for u, d in data.items()}
    block = {u: (d["block"] if d["block"] is not None else math.inf) for u, d in data.items()}
    competitive = compute_competitive_uids(score, block)
    wins, win_rate = compute_wins(competitive, score, block, rec["block"])
    top = max(win_rate, key=win_rate.get) if win_rate else None
    if top != rec.get("top_uid"):
        sys.exit(f"step {rec['step']}: top uid {rec.get('top_uid')}, reference {top}")
    x = [win_rate.get(u, 0) / 0.01 for u in uids]
    hi = max(x)
    e = [math.exp(v - hi) for v in x]
    weights = [v / sum(e) for v in e]
    for i, u in enumerate(uids):
        d = data[u]
        if d["competitive"] != (u in competitive):
            sys.exit(f"step {rec['step']} uid {u}: competitive {d['competitive']}, reference {u in competitive}")
        if d["win_total"] != wins.get(u, 0) or abs(d["win_rate"] - win_rate.get(u, 0)) > 1e-12:
            sys.exit(f"step {rec['step']} uid {u}: wins {d['win_total']}/{d['win_rate']}, reference {wins.get(u, 0)}/{win_rate.get(u, 0)}")
        if abs(d["weight"] - weights[i]) > 1e-6:
            sys.exit(f"step {rec['step']} uid {u}: weight {d['weight']}, reference {weights[i]}")
        eps = compute_epsilon(rec["block"], block[u])
        if abs(d["epsilon_adv"] - eps) > 1e-15:
            sys.exit(f"step {rec['step']} uid {u}: epsilon_adv {d['epsilon_adv']}, reference {eps}")
    checked += 1
print(f"{checked} steps agree with the reference formulas")
