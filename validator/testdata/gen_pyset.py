# CPython 3.11 set iteration order for sets of uids, as the validator builds them
# (set(list), .add, .update(set), .clear, pickle round trip). Run: python3 gen_pyset.py > pyset.json
import json, pickle, random, sys

rng = random.Random(9)
cases = []
for n in range(300):
    hi = rng.choice([8, 16, 64, 256, 1024, 4096])
    ops, s, p = [], set(), set()
    for _ in range(rng.randint(1, 12)):
        op = rng.choice(["new", "add", "update", "clear", "pickle"])
        if op == "new":
            xs = [rng.randrange(hi) for _ in range(rng.randint(0, 30))]
            s = set(xs)
            ops.append({"op": op, "uids": xs})
        elif op == "add":
            x = rng.randrange(hi)
            s.add(x)
            ops.append({"op": op, "uids": [x]})
        elif op == "update":
            xs = [rng.randrange(hi) for _ in range(rng.randint(0, 30))]
            p = set()
            for x in xs:
                p.add(x)
            s.update(p)
            ops.append({"op": op, "uids": xs})
        elif op == "clear":
            s.clear()
            ops.append({"op": op, "uids": []})
        else:
            s = pickle.loads(pickle.dumps(s))
            ops.append({"op": op, "uids": []})
    cases.append({"ops": ops, "order": list(s)})
json.dump(cases, sys.stdout, separators=(",", ":"))
