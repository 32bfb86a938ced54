#!/usr/bin/env python3
"""Reference hashes for modelstore's hash tests, computed by CPython.

Provenance: the three hash functions below are transcribed from macrocosm-os/taoverse
(src/taoverse/model/storage/disk/utils.py get_hash_of_file / get_hash_of_directory and
src/taoverse/model/utils.py get_hash_of_two_strings, at e350d5e); they
run unchanged here, on CPython 3.11 with os.walk's defaults. Nothing in this script is derived
from the Go code.

It hashes
  * the committed tree testdata/hashtree/ (valid UTF-8 names, nested dirs), and
  * generated trees that git cannot hold portably (names that are not UTF-8, symlinks to files
    and to dirs, empty dirs). Each is described in the output as a list of entries (byte paths
    in hex) so the Go test can rebuild exactly the same tree.

Run from the repository root:  python3 modelstore/testdata/refhash.py > modelstore/testdata/refhash.json
"""
import base64
import hashlib
import json
import os
import sys
import tempfile


# --- reference code (taoverse), unchanged -------------------------------------------------
def get_hash_of_file(path: str) -> str:
    blocksize = 64 * 1024
    file_hash = hashlib.sha256()
    with open(path, "rb") as fp:
        while True:
            data = fp.read(blocksize)
            if not data:
                break
            file_hash.update(data)
    return base64.b64encode(file_hash.digest()).decode("utf-8")


def get_hash_of_directory(path: str) -> str:
    dir_hash = hashlib.sha256()
    for cur_path, dirnames, filenames in os.walk(path):
        dirnames.sort()
        for filename in sorted(filenames):
            path = os.path.join(cur_path, filename)
            file_hash = get_hash_of_file(path)
            dir_hash.update(file_hash.encode())
    return base64.b64encode(dir_hash.digest()).decode("utf-8")


def get_hash_of_two_strings(string1: str, string2: str) -> str:
    string_hash = hashlib.sha256((string1 + string2).encode())
    return base64.b64encode(string_hash.digest()).decode("utf-8")
# -------------------------------------------------------------------------------------------

# A real-looking SS58 hotkey (the well-known Alice dev account).
HOTKEY = "5GrwvaF5JtjUsYQCsy1T5FbHZE2Rg8wTKYZrVoHtxedUcR1f"


def f(path: bytes, content: bytes):
    return {"type": "file", "path": path, "content": content}


def d(path: bytes):
    return {"type": "dir", "path": path}


def link(path: bytes, target: bytes):
    return {"type": "symlink", "path": path, "target": target}


def random_names(n: int, seed: int):
    """n distinct file names of 1 to 4 bytes drawn mostly from bytes that make UTF-8 lead,
    continuation, overlong, surrogate and out-of-range sequences, plus some ASCII."""
    import random
    rng = random.Random(seed)
    alphabet = [0x41, 0x61, 0x7A, 0x80, 0x8F, 0x9F, 0xA0, 0xBF, 0xC0, 0xC2, 0xC3, 0xDF, 0xE0,
                0xE2, 0xED, 0xEE, 0xEF, 0xF0, 0xF4, 0xF5, 0xFF]
    names = set()
    while len(names) < n:
        b = bytes(rng.choice(alphabet) for _ in range(rng.randint(1, 4)))
        names.add(b)
    return [f(b, b"content of " + b.hex().encode()) for b in sorted(names)]


# Names chosen so that byte order and Python's code-point order disagree: an undecodable byte b
# sorts as U+DC00+b, i.e. after U+00E9 but before U+E000, U+FFFF and astral characters.
CASES = {
    "non_utf8_names": [
        f(b"\xff", b"raw ff"),
        f(b"\xef\xbf\xbf", b"U+FFFF"),
        f(b"\xee\x80\x80", b"U+E000"),
        f(b"\xf0\x9f\x98\x80", b"emoji"),
        f(b"\xc3", b"raw c3"),
        f(b"\xc3\xa9", b"e acute"),
        f(b"\xed\xa0\x80", b"encoded surrogate is invalid utf-8"),
        f(b"\xe2\x82", b"truncated"),
        f(b"\xe2\x82x", b"truncated then x"),
        f(b"\xc0\xaf", b"overlong slash"),
        f(b"z", b"ascii z"),
        f(b"\xff\xfe", b"raw ff fe"),
    ],
    "non_utf8_dirs": [
        f(b"top", b"root files come first"),
        d(b"\xff"),
        f(b"\xff/a", b"in raw ff"),
        d(b"\xef\xbf\xbf"),
        f(b"\xef\xbf\xbf/a", b"in U+FFFF"),
        d(b"\xc3\xa9"),
        f(b"\xc3\xa9/a", b"in e acute"),
        d(b"\xc3"),
        f(b"\xc3/a", b"in raw c3"),
        d(b"A"),
        d(b"A/B"),
        f(b"A/B/deep", b"deep"),
        f(b"A/zz", b"A's file before A/B's"),
    ],
    "symlinks": [
        f(b"real.txt", b"target content"),
        link(b"alias.txt", b"real.txt"),
        d(b"sub"),
        f(b"sub/inner", b"inner content"),
        link(b"subalias", b"sub"),  # a dir symlink: listed in dirnames, never walked
        link(b"0first", b"sub/inner"),
        d(b"outside"),
        f(b"outside/x", b"x"),
        link(b"sub/up", b"../outside"),
    ],
    "empty_dirs": [
        d(b"a"),
        d(b"a/b"),
        d(b"c"),
        f(b"c/only", b"only file"),
    ],
    "random_names": random_names(300, 9),
    "empty": [],
    "single_empty_file": [f(b"config.json", b"")],
    "hf_snapshot_like": [
        f(b"config.json", b'{"model_type": "gpt2"}\n'),
        f(b"generation_config.json", b'{"_from_model_config": true}\n'),
        f(b"model.safetensors", bytes(range(256)) * 700),  # over one 64 KiB block
        f(b"tokenizer.json", b"{}"),
        f(b"special_tokens_map.json", b"{}"),
        f(b"tokenizer_config.json", b"{}"),
    ],
}


def build(root: bytes, entries):
    for e in entries:
        p = os.path.join(root, e["path"])
        if e["type"] == "dir":
            os.makedirs(p, exist_ok=True)
        elif e["type"] == "file":
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "wb") as fp:
                fp.write(e["content"])
        else:
            os.symlink(e["target"], p)


def hx(b: bytes) -> str:
    return b.hex()


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out = {
        "provenance": "modelstore/testdata/refhash.py, CPython %s" % sys.version.split()[0],
        "hotkey": HOTKEY,
        "vectors": {
            "two_strings_hello_world": get_hash_of_two_strings("hello", "world"),
        },
        "hashtree": {},
        "cases": [],
    }
    tree = os.path.join(here, "hashtree")
    h = get_hash_of_directory(tree)
    out["hashtree"] = {"hash": h, "secure_hash": get_hash_of_two_strings(h, HOTKEY)}
    # Each subdirectory of the tree on its own too, so a failure points at a subtree.
    subs = {}
    for name in sorted(os.listdir(tree)):
        p = os.path.join(tree, name)
        if os.path.isdir(p) and not os.path.islink(p):
            subs[name] = get_hash_of_directory(p)
    out["hashtree"]["subdirs"] = subs

    for name, entries in CASES.items():
        with tempfile.TemporaryDirectory() as tmp:
            # A str path, as the reference passes: os.walk then yields str names (undecodable
            # bytes surrogate-escaped) and sorted() orders them by code point. A bytes path
            # would sort bytes instead.
            root = os.path.join(tmp, "root")
            os.mkdir(root)
            build(os.fsencode(root), entries)
            h = get_hash_of_directory(root)
            order = []
            for cur, dirnames, filenames in os.walk(root):
                dirnames.sort()
                for fn in sorted(filenames):
                    order.append(hx(os.fsencode(os.path.relpath(os.path.join(cur, fn), root))))
        enc = []
        for e in entries:
            x = {"type": e["type"], "path": hx(e["path"])}
            if e["type"] == "file":
                x["content"] = hx(e["content"])
            elif e["type"] == "symlink":
                x["target"] = hx(e["target"])
            enc.append(x)
        out["cases"].append({
            "name": name,
            "entries": enc,
            "order": order,
            "hash": h,
            "secure_hash": get_hash_of_two_strings(h, HOTKEY),
        })
    json.dump(out, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
