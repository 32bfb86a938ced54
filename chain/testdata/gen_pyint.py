"""Vectors for chain's metadata parser, computed by CPython 3.11 itself.

Run: python3 testdata/gen_pyint.py > testdata/pyint.json

- decimals: every code point Python's str.isdecimal() accepts, with int() of it;
- spaces: every code point str.isspace() accepts;
- ints: int(s) for tricky competition-id strings ("error" where int() raises);
- metadata: ModelId.from_compressed_str on sample strings, written out field by field
  (the reference code below is taoverse model/data.py, copied as the oracle).
"""
import json
import sys

decimals = [[cp, int(chr(cp))] for cp in range(0x110000) if chr(cp).isdecimal()]
spaces = [cp for cp in range(0x110000) if chr(cp).isspace()]

samples = ["0", "2", "99", "007", "+4", "-1", " 2 ", "\t6\n", "1_0", "1__0", "_1", "1_", "", "+", "-",
           "2a", "0x2", "٣", "１２", "\u20032\u2003", "\x1c5\x1f", "1 2", "²", "½", "99999999999999999999",
           "-0", "None", "4.0", "\u00a08"]
ints = []
for s in samples:
    try:
        ints.append([s, str(int(s))])
    except ValueError:
        ints.append([s, "error"])


def from_compressed_str(cs, default_competition_id=0):
    tokens = cs.split(":")
    if len(tokens) < 5:
        competition_id = default_competition_id
        hash = tokens[3] if tokens[3] != "None" else None
    else:
        competition_id = int(tokens[4])
        hash = None
    return dict(namespace=tokens[0], name=tokens[1],
                commit=tokens[2] if tokens[2] != "None" else None, hash=hash,
                secure_hash=tokens[3] if tokens[3] != "None" else None, competition_id=competition_id)


commit = "a" * 40
sh = "k2oYXKqiZrucvpgengXLeM1zKwsygOuURBK7b4+PB68="
meta_samples = [
    f"myorg:my-3b:{commit}:{sh}:2", f"myorg:my-3b:{commit}:{sh}", f"ns:name:None:None:4",
    f"ns:name:None:{sh}", f"ns:name:{commit}:{sh}:4:extra:fields", "a:b:c", "a:b", "", "::::",
    f"ns:name:{commit}:{sh}: 3 ", f"ns:name:{commit}:{sh}:x", f"ns::{commit}:None:0", ":::None",
]
metadata = []
for s in meta_samples:
    try:
        metadata.append({"in": s, "out": from_compressed_str(s)})
    except (IndexError, ValueError) as e:
        metadata.append({"in": s, "error": type(e).__name__})

json.dump({"python": sys.version.split()[0], "decimals": decimals, "spaces": spaces, "ints": ints,
           "metadata": metadata}, sys.stdout, ensure_ascii=True, separators=(",", ":"))
