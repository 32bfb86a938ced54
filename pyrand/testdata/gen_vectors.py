#!/usr/bin/env python3
"""Emit vectors.json: draws from CPython's own random module, replayed by pyrand's tests.

Usage: python3 gen_vectors.py > vectors.json   (standard library only; run with CPython 3.11)

For each seed, one random.Random(seed) instance performs a fixed, mixed sequence of calls
(getrandbits, _randbelow, randint, choice, shuffle, random); the calls and their parameters are
chosen by a separate driver generator, recorded, and replayed in the same order by the Go test,
so the test also checks that every call consumes exactly CPython's number of words.
"""
import hashlib
import json
import random
import sys

SEEDS = [
    0, 1, 2, 9, 42, -5, 1234,                      # zero, small, negative (abs is used)
    2**31 - 1, 2**32 - 1, 123456789,                  # 32-bit
    2**32, 2**63 + 12345, 2**64 - 1, -(2**64 - 1),    # 33..64-bit
    2**64, 2**96 + 7,                                 # just over 64 bits
    # sha256-derived seeds as SN9 makes them from block hashes (256 bits).
    int(hashlib.sha256(b"0xa97f42f48fddd14f4c7443b46f9961a227c9a699e60f74dd08346713ba5dcd4c").hexdigest(), 16),
    int(hashlib.sha256(b"0x" + b"00" * 32).hexdigest(), 16),
    int(hashlib.sha512(b"pyrand").hexdigest(), 16),   # 512 bits
    3**700,                                            # ~1110 bits: key longer than 32 words
]

OPS_PER_SEED = 600


def ops_for(driver):
    """Yield (op, params) chosen by the driver generator."""
    kinds = ["getrandbits", "randbelow", "randint", "choice", "shuffle", "random"]
    for _ in range(OPS_PER_SEED):
        kind = driver.choice(kinds)
        if kind == "getrandbits":
            yield kind, {"k": driver.randint(0, 200)}
        elif kind == "randbelow":
            bits = driver.choice([1, 2, 7, 31, 32, 33, 50, 63, 64, 65, 100, 256, 300])
            n = driver.getrandbits(bits) or 1
            yield kind, {"n": str(n)}
        elif kind == "randint":
            lo_bits = driver.choice([0, 8, 31, 40, 62, 64, 80])
            span_bits = driver.choice([0, 1, 10, 30, 32, 33, 40, 63, 64, 65, 100, 256])
            a = driver.getrandbits(lo_bits) if lo_bits else 0
            if driver.random() < 0.3:
                a = -a
            b = a + driver.getrandbits(span_bits) if span_bits else a
            yield kind, {"a": str(a), "b": str(b)}
        elif kind == "choice":
            yield kind, {"n": driver.choice([1, 2, 3, 10, 100, 1000, 2**31, 2**40])}
        elif kind == "shuffle":
            yield kind, {"n": driver.randint(0, 40)}
        else:
            yield kind, {}


def run_seed(seed, driver):
    r = random.Random(seed)
    out = []
    for kind, p in ops_for(driver):
        if kind == "getrandbits":
            v = str(r.getrandbits(p["k"]))
        elif kind == "randbelow":
            v = str(r._randbelow(int(p["n"])))
        elif kind == "randint":
            v = str(r.randint(int(p["a"]), int(p["b"])))
        elif kind == "choice":
            v = r.choice(range(p["n"]))
        elif kind == "shuffle":
            x = list(range(p["n"]))
            r.shuffle(x)
            v = x
        else:
            v = repr(r.random())
        out.append(dict(op=kind, **p, out=v))
    return out


def spec_vectors():
    """RNG parity values of SN9's page draws; asserted here so the file cannot disagree."""
    random.seed(1)
    a = [random.randint(1, 968000015) for _ in range(3)]
    assert a == [144272510, 611178003, 909925048], a
    random.seed(1)
    b = [random.randint(1, 5451114734) for _ in range(2)]
    assert b == [4872057334, 3280387013], b
    h = "0xa97f42f48fddd14f4c7443b46f9961a227c9a699e60f74dd08346713ba5dcd4c"
    seed = int(hashlib.sha256(h.encode("utf-8")).hexdigest(), 16)
    assert seed == 0x8ab716a6e220141ac8fee75afd4e254c9e3a8c8befffb4e8920926dd0ece74d4
    random.seed(seed)
    falcon = [random.randint(1, 968000015) for _ in range(3)]
    assert falcon == [924215259, 593202412, 449899526], falcon
    random.seed(seed)
    r49 = random.randint(0, 49)
    assert r49 == 35
    x = list(range(10))
    random.Random(seed).shuffle(x)
    assert x == [1, 0, 3, 5, 4, 7, 2, 9, 6, 8], x
    return dict(seed1_falcon=a, seed1_stack2=b, block_hash=h, seed=str(seed),
                falcon=falcon, randint_0_49=r49, shuffle10=x)


def main():
    driver = random.Random(20260101)
    cases = [dict(seed=str(s), ops=run_seed(s, driver)) for s in SEEDS]
    r0 = random.Random(0)
    extras = dict(full_int64_seed0=[str(r0.randint(-2**63, 2**63 - 1)) for _ in range(20)])
    json.dump(dict(python=sys.version.split()[0], spec=spec_vectors(), extras=extras, cases=cases),
              sys.stdout, separators=(",", ":"))
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
