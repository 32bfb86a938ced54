#!/usr/bin/env python3
"""Emit pages.json: the pages each reference loader draws for a seed, computed by CPython's
`random` with the reference formulas (macrocosm-os/pretraining pretrain/dataset.py @ 42328de):

  simple loaders: random.seed(seed); [random.randint(1, max_pages) for _ in range(num_pages)]
  FineWeb-style:  random.seed(seed); configs = {e["config"]: ... for e in splits if config != "default"}
                  initial_offset = random.randint(0, 49); then per page
                  cfg = random.choice(list(configs)); n = (num_rows - initial_offset + 1) // 50
                  start = initial_offset + random.randint(0, n - 1) * 50; duplicates skipped
                  (at most 100), assuming every fetch succeeds.

Usage: python3 gen_pages.py > pages.json   (standard library only)
"""
import hashlib
import json
import random

MAX_PAGES = {
    "falcon": 968000015,
    "stack-v1": 236655813,
    "stack-v2": 5_451_114_734,
    "pes2ox": 8242000,
    "finemath-3plus": 21_400_000,
    "infiwebmath-3plus": 13_900_000,
}

HASHES = ["0x" + hashlib.sha256(str(i).encode()).hexdigest() for i in range(6)]
HASHES.append("0xa97f42f48fddd14f4c7443b46f9961a227c9a699e60f74dd08346713ba5dcd4c")

# /size split lists: real-looking FineWeb dumps, a repeated config (dict semantics), a
# "default" entry, and a tiny config that forces duplicates.
SIZES = {
    "fineweb-like": [
        dict(config="default", split="train", num_rows=22335106879),
        dict(config="CC-MAIN-2013-20", split="train", num_rows=331316093),
        dict(config="CC-MAIN-2024-10", split="train", num_rows=468424935),
        dict(config="CC-MAIN-2014-15", split="train", num_rows=191218574),
        dict(config="sample-10BT", split="train", num_rows=14868862),
    ],
    "repeated-config": [
        dict(config="A", split="train", num_rows=1000),
        dict(config="B", split="test", num_rows=5000),
        dict(config="A", split="validation", num_rows=3000),
    ],
    "tiny": [
        dict(config="small", split="train", num_rows=160),
        dict(config="big", split="train", num_rows=130),
    ],
}


def seed_of(h):
    return int(hashlib.sha256(h.encode("utf-8")).hexdigest(), 16)


def fineweb_pages(seed, splits, num_pages):
    random.seed(seed)
    configs = {e["config"]: dict(num_rows=e["num_rows"], split=e["split"]) for e in splits if e["config"] != "default"}
    initial = random.randint(0, 49)
    pages, dup = [], 0
    while len(pages) < num_pages:
        cfg = random.choice(list(configs.keys()))
        n = (configs[cfg]["num_rows"] - initial + 1) // 50
        page = (cfg, initial + random.randint(0, n - 1) * 50, configs[cfg]["split"])
        if page in pages:
            dup += 1
            if dup >= 100:
                break
            continue
        pages.append(page)
    return initial, [list(p) for p in pages]


def main():
    simple = []
    for h in HASHES:
        for name, mp in MAX_PAGES.items():
            for num_pages in (1, 2, 6, 15, 30):
                random.seed(seed_of(h))
                simple.append(dict(block_hash=h, loader=name, num_pages=num_pages,
                                   pages=[random.randint(1, mp) for _ in range(num_pages)]))
    fineweb = []
    for h in HASHES:
        for sname, splits in SIZES.items():
            for num_pages in (1, 15, 40):
                initial, pages = fineweb_pages(seed_of(h), splits, num_pages)
                fineweb.append(dict(block_hash=h, size=sname, num_pages=num_pages, initial_offset=initial, pages=pages))
    print(json.dumps(dict(sizes=SIZES, simple=simple, fineweb=fineweb)))


if __name__ == "__main__":
    main()
