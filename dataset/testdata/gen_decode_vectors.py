"""Reference vectors for Stack v2 text decoding: CPython 3.11's bytes.decode(name) (strict)
on many encoding names and byte strings. Writes decode_vectors.jsonl.gz (deterministic):
one JSON object a line, {"enc": name, "hex": input bytes, "out": text} on success or
{"enc": ..., "hex": ..., "err": exception class name} on failure.

Run from this directory: python3 gen_decode_vectors.py
"""
import encodings
import encodings.aliases
import gzip
import importlib
import json
import pkgutil
import random
import sys
import warnings

warnings.simplefilter("ignore", DeprecationWarning)  # unicode_escape on random bytes

assert sys.version_info[:2] == (3, 11), sys.version
assert sys.byteorder == "little"

rng = random.Random(9)
vectors = []
seen = set()


def add(enc, data):
    if (enc, data) in seen:
        return
    seen.add((enc, data))
    v = {"enc": enc, "hex": data.hex()}
    try:
        v["out"] = data.decode(enc)
    except Exception as e:  # LookupError, UnicodeDecodeError, UnicodeError, ValueError
        v["err"] = type(e).__name__
    vectors.append(v)


# 1. Names: every alias and module, spelled as Stack v2 rows and people do, plus names CPython
# rejects. Each is decoded on probes whose outputs tell the codecs apart.
modules = sorted(m.name for m in pkgutil.iter_modules(encodings.__path__))
names = set(encodings.aliases.aliases) | set(modules)
for n in list(names):
    names |= {n.upper(), n.replace("_", "-")}
names |= {
    "UTF-8", "utf-8-sig", "UTF-8-SIG", "UTF-16", "UTF-16LE", "UTF-16BE", "UTF-32", "UTF-32LE", "UTF-32BE",
    "Shift_JIS", "SHIFT-JIS", "SJIS", "x-sjis", "CP932", "Windows-31J", "MS932", "EUC-JP", "eucJP",
    "ISO-2022-JP", "GB2312", "GBK", "GB18030", "HZ-GB-2312", "EUC-CN", "Big5", "BIG5-HKSCS", "Big5HKSCS",
    "CP950", "EUC-KR", "CP949", "UHC", "ks_c_5601-1987", "Johab", "EUC-TW", "ISO-8859-1", "latin-1",
    "Latin1", "ISO-8859-2", "ISO-8859-5", "ISO-8859-7", "ISO-8859-8", "ISO-8859-8-I", "ISO-8859-9",
    "ISO-8859-11", "ISO-8859-15", "ISO-8859-16", "windows-1250", "Windows-1251", "windows-1252",
    "Windows-1253", "windows-1254", "windows-1255", "windows-1256", "windows-1257", "windows-1258",
    "windows-874", "cp1252", "CP1252", "cp-1252", "KOI8-R", "KOI8-U", "IBM855", "IBM866", "IBM437",
    "MacRoman", "mac-roman", "macintosh", "MacCyrillic", "x-mac-cyrillic", "x-mac-japanese", "TIS-620",
    "tis620", "ascii", "US-ASCII", "ANSI_X3.4-1968", "UTF-7", "utf7", "utf.8", "u.t.f.8", "utf8\u00fc",
    "\u00fctf8", "utf--8", "-utf8-", "iso-8859-1.", "8859", "", " ", "-", "base64", "rot13", "rot_13",
    "hex", "zlib", "aliases", "mbcs", "dbcs", "oem", "utf_8\x00", "no-such-codec", "binary", "None",
}
probes = [b"a\xe9b", b"\x80\xff", b"\x81\x40\x82\xa0", b"\xa4\xa2\xb0\xa1", b"\xff\xfe\x00\x00a\x00\x00\x00",
          b"+AGE-\xc3\xa9"]
for n in sorted(names):
    for p in probes:
        add(n, p)
    add(n, b"")

# 2. Content: per text codec, valid text, invalid bytes, BOMs, truncations.
def text_codecs():
    for m in modules:
        try:
            mod = importlib.import_module("encodings." + m)
        except ImportError:
            continue
        if hasattr(mod, "getregentry") and mod.getregentry()._is_text_encoding:
            yield m


def random_text(n):
    pools = [(0x20, 0x7E), (0xA0, 0x24F), (0x370, 0x52F), (0x3000, 0x30FF), (0x4E00, 0x9FFF),
             (0xAC00, 0xD7A3), (0xFF00, 0xFFEF), (0x1F300, 0x1F64F), (0x20000, 0x2A6DF), (0xE000, 0xF8FF)]
    out = []
    for _ in range(n):
        lo, hi = rng.choice(pools)
        out.append(chr(rng.randint(lo, hi)))
    return "".join(out)


def encodable(codec, n):
    # Characters of the codec's repertoire, found by encoding random ones.
    chars = []
    tries = 0
    while len(chars) < n and tries < 20000:
        tries += 1
        c = random_text(1)
        try:
            c.encode(codec)
        except (UnicodeEncodeError, UnicodeError):
            continue
        chars.append(c)
    return chars


charmaps = {m for m in text_codecs() if "charmap_decode" in open(importlib.import_module("encodings." + m).__file__).read()}
for codec in text_codecs():
    try:
        reps = encodable(codec, 200)
    except LookupError:
        reps = []
    if codec == "undefined":
        reps = []
    for _ in range(25):
        if reps:
            s = "".join(rng.choice(reps) for _ in range(rng.randint(1, 8)))
            if rng.random() < 0.5:
                s = "a" + s + "z"
            b = s.encode(codec)
            add(codec, b)
            if len(b) > 1:
                add(codec, b[:-1])  # truncated
                i = rng.randrange(len(b))
                add(codec, b[:i] + bytes([rng.randrange(256)]) + b[i + 1:])  # one byte changed
                add(codec, b[:i] + bytes([rng.randrange(0x80, 0x100)]) + b[i:])  # one byte inserted
        add(codec, bytes(rng.randrange(256) for _ in range(rng.randint(1, 12))))
        add(codec, bytes(rng.randrange(0x80, 0x100) for _ in range(rng.randint(1, 6))))
    for b in range(256):
        if codec not in charmaps and codec not in ("utf_16", "utf_16_le", "utf_16_be", "utf_32", "utf_32_le", "utf_32_be"):
            add(codec, bytes([b]))

utf = {
    "utf_8": [b"\xef\xbb\xbfx", b"\xed\xa0\x80", b"\xed\x9f\xbf", b"\xc0\x80", b"\xf4\x90\x80\x80", b"\xf4\x8f\xbf\xbf",
              b"\xe2\x82", b"\xf0\x9f\x98\x80"],
    "utf_8_sig": [b"\xef\xbb\xbf", b"\xef\xbb\xbfx", b"\xef\xbb\xbf\xef\xbb\xbfx", b"\xef\xbb", b"x\xef\xbb\xbf"],
    "utf_16": [b"\xff\xfea\x00", b"\xfe\xff\x00a", b"a\x00", b"\x00a", b"\xff\xfe", b"\xff", b"a\x00b",
               b"\xff\xfe\xff\xfea\x00", b"\x3d\xd8\x00\xde", b"\x3d\xd8", b"\x00\xde", b"\x3d\xd8a\x00",
               b"\xfe\xff\xd8\x3d\xde\x00", b"\xfe\xff\xd8\x3d"],
    "utf_16_le": [b"\xff\xfea\x00", b"a\x00", b"\x3d\xd8\x00\xde", b"\x00\xdc", b"a"],
    "utf_16_be": [b"\xfe\xff\x00a", b"\x00a", b"\xd8\x3d\xde\x00", b"\xdc\x00", b"a"],
    "utf_32": [b"\xff\xfe\x00\x00a\x00\x00\x00", b"\x00\x00\xfe\xff\x00\x00\x00a", b"a\x00\x00\x00",
               b"\x00\x00\x00a", b"\xff\xfe\x00\x00", b"a\x00\x00", b"\x00\xd8\x00\x00", b"\x00\x00\x11\x00",
               b"\xff\xff\x10\x00", b"\x00\x00\xfe\xff\x00\x00\xd8\x00"],
    "utf_32_le": [b"\xff\xfe\x00\x00a\x00\x00\x00", b"\x00\xd8\x00\x00", b"\x00\x00\x11\x00", b"a\x00"],
    "utf_32_be": [b"\x00\x00\xfe\xff\x00\x00\x00a", b"\x00\x00\xd8\x00", b"\x00\x11\x00\x00", b"\x00a"],
    "gb18030": [b"\x81\x30\x81\x30", b"\x84\x31\xa4\x39", b"\x84\x31\xa5\x30", b"\x90\x30\x81\x30",
                b"\xe3\x32\x9a\x35", b"\xe3\x32\x9a\x36", b"\x85\x30\x81\x30", b"\x81\x30\x81", b"\x81\x30",
                b"\x80\x30\x81\x30", b"\xff\x30\x81\x30", b"\x81\x30\x80\x30", b"\xa1\xa1\x81\x30\x81\x30a"],
    "euc_kr": [b"\xa4\xd4\xa4\xa1\xa4\xbf\xa4\xd4", b"\xa4\xd4\xa4\xbe\xa4\xd3\xa4\xbe", b"\xa4\xd4",
               b"\xa4\xd4\xa4\xa1\xa4\xbf\xa4", b"\xa4\xd4\xa4\xa1\xa4\xbf\xa4\xa0", b"\xa4\xd4\xa5\xa1\xa4\xbf\xa4\xd4",
               b"\xa4\xa1\xa4\xd4\xa4\xa1\xa4\xbf\xa4\xd4z"],
    "utf_7": [b"+2D3eAA-", b"+2D3eAA", b"+2D3eAAx", b"+2D0-", b"+2D0", b"+2D0x", b"+3gA-", b"+2D3YPQ-", b"+2D3eAA\x80",
              b"+AGE", b"+AGEA-", b"+AGF-", b"+!", b"+-", b"+", b"+A", b"+AG", b"a\x80", b"+AOk-+AOk-", b"~\\", b"+AOk\x80"],
    "big5hkscs": [b"\x88\x62", b"\x88\x64", b"\x88\xa3", b"\x88\xa5", b"a\x88\x62b"],
    "euc_jp": [b"\x8f\xb0\xa1", b"\x8f\xa2\xaf", b"\x8f\xb0", b"\x8e\xa1", b"\x8e\xe0"],
}
for codec, cases in utf.items():
    for b in cases:
        add(codec, b)

vectors.sort(key=lambda v: (v["enc"], v["hex"]))
with open("decode_vectors.jsonl.gz", "wb") as f:
    with gzip.GzipFile(fileobj=f, mode="wb", mtime=0, compresslevel=9, filename="") as z:
        for v in vectors:
            z.write((json.dumps(v, ensure_ascii=True, sort_keys=True) + "\n").encode())
print(len(vectors), "vectors", file=sys.stderr)
