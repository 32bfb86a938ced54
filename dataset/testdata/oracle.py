#!/usr/bin/env python3
"""Independent oracle for the dataset package: the reference loaders' page choice, retries,
tokenization, packing, shuffle and cut, re-implemented from macrocosm-os/pretraining
pretrain/dataset.py @ 42328de (and run_step's shuffle and cut in neurons/validator.py) with
CPython's own `random`.

Inputs: demo150.jsonl.gz (rows) and gpt2_ids.json.gz (their GPT-2 ids from npm tiktoken).
Output (stdout): oracle.json, the cases the Go test replays against the real dataserver.

Rows are "fetched" here by slicing the row list, not over HTTP. A fetch listed in a case's
fail_calls (0-based count of /rows calls, retries included) fails as a 5xx does; one in
bad_json_calls returns 200 with a body that is not JSON.
Usage: python3 oracle.py > oracle.json   (standard library only)
"""
import gzip
import hashlib
import json
import random

ROWS = [json.loads(l) for l in gzip.open("demo150.jsonl.gz", "rt", encoding="utf-8") if l.strip()]
IDS = json.load(gzip.open("gpt2_ids.json.gz", "rt"))
EOS = 50256            # GPT-2 <|endoftext|>
MODEL_MAX_LENGTH = 1024  # HF gpt2 tokenizer: truncation=True keeps the first 1024 ids
ROWS_PER_PAGE = 50
RETRY_LIMIT = 15
DUP_THRESHOLD = 100

# Datasets as the Go test lays them out for the dataserver.
SIMPLE = dict(dataset="tiiuae/falcon-refinedweb", config="default", split="train", rows=list(range(150)))
FINEWEB_CONFIGS = [  # /size order: the dataserver sorts by config name
    dict(config="CC-MAIN-A", split="train", rows=list(range(0, 150))),
    dict(config="CC-MAIN-B", split="train", rows=list(range(20, 150))),
]


class Transient(Exception):
    pass


class BadJSON(Transient):
    pass


def tokens_of(row_index):
    return IDS[row_index][:MODEL_MAX_LENGTH] + [EOS]


class Fetcher:
    def __init__(self, fail_calls, bad_json_calls):
        self.calls = 0
        self.fail = set(fail_calls)
        self.bad = set(bad_json_calls)

    def rows(self, row_ids, offset):
        n = self.calls
        self.calls += 1
        if n in self.fail:
            raise Transient()
        if n in self.bad:
            raise BadJSON()
        return row_ids[offset:offset + ROWS_PER_PAGE]


def simple_loader(seed, max_pages, num_pages, seq_len, f):
    random.seed(seed)
    fetch_attempt = 1
    buffer, pages = [], []
    while fetch_attempt < RETRY_LIMIT:
        pages = [random.randint(1, max_pages) for _ in range(num_pages)]
        buffer = []
        for p in pages:
            attempt = 0
            while attempt < RETRY_LIMIT:
                try:
                    for r in f.rows(SIMPLE["rows"], p):
                        buffer += tokens_of(r)
                    break
                except Transient:
                    attempt += 1
                    if attempt >= RETRY_LIMIT:
                        raise
        fetch_attempt += 1
        if len(buffer) >= seq_len:
            break
    if len(buffer) < seq_len:
        raise ValueError("too few tokens")
    return [str(p) for p in pages], buffer


def fineweb_loader(seed, num_pages, seq_len, f):
    random.seed(seed)
    configs = {c["config"]: c for c in FINEWEB_CONFIGS}
    fetch_attempt = 1
    buffer = []
    pages = []
    while fetch_attempt < RETRY_LIMIT:
        pages, attempts, duplicates = [], 0, 0
        initial_offset = random.randint(0, ROWS_PER_PAGE - 1)
        while len(pages) < num_pages:
            cfg = random.choice(list(configs.keys()))
            rows = len(configs[cfg]["rows"]) - initial_offset
            n = (rows + 1) // ROWS_PER_PAGE
            page = (cfg, initial_offset + random.randint(0, n - 1) * ROWS_PER_PAGE, configs[cfg]["split"])
            if page in pages:
                duplicates += 1
                if duplicates >= DUP_THRESHOLD:
                    break
                continue
            try:
                got = f.rows(configs[cfg]["rows"], page[1])
                pages.append(page)
                for r in got:
                    buffer += tokens_of(r)
            except Transient as e:
                if isinstance(e, BadJSON):
                    pages.append(page)  # appended before response.json() in the reference
                attempts += 1
                if attempts >= RETRY_LIMIT:
                    raise
        fetch_attempt += 1
        if len(buffer) >= seq_len:
            break
    if len(buffer) < seq_len:
        raise ValueError("too few tokens")
    return ["%s_%d_%s" % p for p in pages], buffer


def pack(buffer, batch_size, seq_len, pack_samples):
    """SubsetLoader.__iter__/__next__, streamed exactly as the reference does."""
    buffer = list(buffer)
    padded = []

    def refill():
        nonlocal buffer, padded
        while buffer and len(padded) < seq_len:
            i = buffer.index(EOS)
            ids = buffer[:i + 1]
            buffer = buffer[i + 1:]
            if pack_samples:
                pad = 1
            else:
                pad = (seq_len - len(ids[:-1]) % seq_len) % seq_len
            padded += ids[:-1] + [EOS] * pad

    refill()
    batches = []
    while True:
        batch = []
        done = True
        while len(padded) >= seq_len:
            batch.append(padded[:seq_len])
            padded = padded[seq_len:]
            refill()
            if len(batch) == batch_size:
                batches.append(batch)
                done = False
                break
        if done:
            return batches


def digest(batch):
    return hashlib.sha256(";".join(",".join(map(str, row)) for row in batch).encode()).hexdigest()


def seed_of(s):
    if isinstance(s, int):
        return s
    return int(hashlib.sha256(s.encode("utf-8")).hexdigest(), 16)


HASHES = [
    "0xa97f42f48fddd14f4c7443b46f9961a227c9a699e60f74dd08346713ba5dcd4c",
    "0x5b1c3e4f6a7d8e9f0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6071",
    "0x0000000000000000000000000000000000000000000000000000000000000000",
]

CASES = []
for h in HASHES + [1]:
    CASES.append(dict(name="simple-1024-%s" % str(h)[:8], kind="simple", seed=h, max_pages=100, num_pages=3, seq_len=1024, batch_size=1, packed=True))
CASES += [
    dict(name="simple-512-bs2", kind="simple", seed=HASHES[1], max_pages=120, num_pages=2, seq_len=512, batch_size=2, packed=True),
    dict(name="simple-unpacked-256", kind="simple", seed=HASHES[0], max_pages=100, num_pages=2, seq_len=256, batch_size=1, packed=False),
    dict(name="simple-redraw-rounds", kind="simple", seed=6, max_pages=600, num_pages=1, seq_len=2048, batch_size=1, packed=True),
    dict(name="simple-all-rounds-empty", kind="simple", seed=HASHES[0], max_pages=10**9, num_pages=2, seq_len=1024, batch_size=1, packed=True),
    dict(name="simple-retry-same-page", kind="simple", seed=HASHES[0], max_pages=100, num_pages=3, seq_len=1024, batch_size=1, packed=True, fail_calls=[0, 1, 4]),
    dict(name="simple-retry-limit", kind="simple", seed=HASHES[0], max_pages=100, num_pages=3, seq_len=1024, batch_size=1, packed=True, fail_calls=list(range(1, 16))),
    dict(name="fineweb-2", kind="fineweb", seed=HASHES[0], num_pages=2, seq_len=1024, batch_size=1, packed=True),
    dict(name="fineweb-3", kind="fineweb", seed=HASHES[1], num_pages=3, seq_len=1024, batch_size=1, packed=True),
    dict(name="fineweb-duplicates", kind="fineweb", seed=HASHES[2], num_pages=6, seq_len=1024, batch_size=1, packed=True),
    dict(name="fineweb-new-page-on-failure", kind="fineweb", seed=HASHES[1], num_pages=3, seq_len=1024, batch_size=1, packed=True, fail_calls=[0, 2]),
    dict(name="fineweb-bad-json-counts-page", kind="fineweb", seed=HASHES[0], num_pages=3, seq_len=1024, batch_size=1, packed=True, bad_json_calls=[1]),
    # A second round keeps the first round's tokens (reference quirk): ~25k + ~25k >= 40000.
    dict(name="fineweb-redraw-keeps-buffer", kind="fineweb", seed=HASHES[0], num_pages=1, seq_len=40000, batch_size=1, packed=True),
    dict(name="fineweb-retry-limit", kind="fineweb", seed=HASHES[0], num_pages=3, seq_len=1024, batch_size=1, packed=True, fail_calls=list(range(0, 15))),
]


def run(case):
    f = Fetcher(case.get("fail_calls", []), case.get("bad_json_calls", []))
    seed = seed_of(case["seed"])
    out = dict(case, seed=str(case["seed"]))
    try:
        if case["kind"] == "simple":
            names, buffer = simple_loader(seed, case["max_pages"], case["num_pages"], case["seq_len"], f)
        else:
            names, buffer = fineweb_loader(seed, case["num_pages"], case["seq_len"], f)
    except (Transient, ValueError, IndexError) as e:
        out.update(error=type(e).__name__, calls=f.calls)
        return out
    batches = pack(buffer, case["batch_size"], case["seq_len"], case["packed"])
    random.Random(seed).shuffle(batches)
    out.update(pages=names, calls=f.calls, num_tokens=len(buffer), num_batches=len(batches),
               selected=[digest(b) for b in batches[:50]])
    return out


if __name__ == "__main__":
    print(json.dumps(dict(eos=EOS, model_max_length=MODEL_MAX_LENGTH, cases=[run(c) for c in CASES]), indent=1))
