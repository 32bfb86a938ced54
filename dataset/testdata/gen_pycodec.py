"""Generate dataset/pycodec's tables from CPython (3.11): the codec name table
(encodings.aliases.aliases plus the encodings modules), 256-entry tables of the charmap
codecs, and the byte-sequence tables of the stateless CJK codecs.

Run from this directory: python3 gen_pycodec.py  (writes ../pycodec/tables_gen.go and
../pycodec/cjk.txt.gz; both outputs are deterministic).

cjk.txt.gz, one section per stateless CJK codec: "codec NAME", the sequence lines
described below, then for gb18030 "run LSEQ CP COUNT" lines and for euc_kr "cho|jung|jong
BYTE VALUE" lines (hex). Sequence lines hold no space; record lines do.
"""
import codecs
import encodings
import encodings.aliases
import gzip
import importlib
import inspect
import io
import json
import pkgutil
import subprocess
import sys

assert sys.version_info[:2] == (3, 11), sys.version
assert sys.byteorder == "little"

# Codecs whose strict decode is reimplemented by hand in pycodec.go.
NATIVE = {
    "ascii": "kindASCII", "latin_1": "kindLatin1", "utf_8": "kindUTF8", "utf_8_sig": "kindUTF8Sig",
    "utf_16": "kindUTF16", "utf_16_le": "kindUTF16LE", "utf_16_be": "kindUTF16BE",
    "utf_32": "kindUTF32", "utf_32_le": "kindUTF32LE", "utf_32_be": "kindUTF32BE",
    "undefined": "kindUndefined", "utf_7": "kindUTF7",
}
# Stateful or escape-based codecs that pycodec does not reproduce: they fail with ErrUnsupported.
UNSUPPORTED = {"idna", "punycode", "unicode_escape", "raw_unicode_escape", "hz",
               "iso2022_jp", "iso2022_jp_1", "iso2022_jp_2", "iso2022_jp_2004", "iso2022_jp_3",
               "iso2022_jp_ext", "iso2022_kr"}

modules = {}
charmaps = {}
cjk = []
for m in sorted(x.name for x in pkgutil.iter_modules(encodings.__path__)):
    try:
        mod = importlib.import_module("encodings." + m)
    except ImportError:
        continue  # mbcs, oem: Windows only
    if not hasattr(mod, "getregentry"):
        modules[m] = "kindNotCodec"
        continue
    if not mod.getregentry()._is_text_encoding:
        modules[m] = "kindNotText"
        continue
    src = inspect.getsource(mod)
    if m in NATIVE:
        modules[m] = NATIVE[m]
    elif m in UNSUPPORTED:
        modules[m] = "kindUnsupported"
    elif "charmap_decode" in src:
        modules[m] = "kindCharmap"
        table = []
        for b in range(256):
            try:
                s = bytes([b]).decode(m)
            except UnicodeDecodeError:
                s = "\ufffe"
            assert len(s) == 1 and not 0xD800 <= ord(s) < 0xE000, (m, b, s)
            table.append(s)
        charmaps[m] = "".join(table)
    elif "_codecs_" in src:
        modules[m] = "kindCJK"
        cjk.append(m)
    else:
        raise SystemExit("unclassified codec " + m)
for m in NATIVE.keys() | UNSUPPORTED:
    assert m in modules, m


def classify(codec, seq):
    try:
        return "ok", seq.decode(codec)
    except UnicodeDecodeError as e:
        if e.reason == "incomplete multibyte sequence" and e.end == len(seq):
            return "more", None
        return "bad", None


out = io.StringIO()
for codec in cjk:
    out.write("codec %s\n" % codec)
    frontier = [b""]
    leaves = []
    depth = 0
    while frontier:
        depth += 1
        assert depth <= 3, codec
        nxt = []
        for p in frontier:
            for b in range(256):
                seq = p + bytes([b])
                if codec == "gb18030" and len(seq) == 2 and 0x30 <= seq[1] <= 0x39:
                    continue  # four-byte forms, below
                if codec == "euc_kr" and seq == b"\xa4\xd4":
                    continue  # eight-byte make-up sequences, below
                kind, s = classify(codec, seq)
                if kind == "ok":
                    leaves.append((len(seq) << 24 | int(seq.hex(), 16), s))
                elif kind == "more":
                    nxt.append(seq)
        frontier = nxt
    # One line per sequence, in key order (key = len<<24 | bytes, big-endian):
    # [keydelta-hex ":"] cpdelta-decimal ["," extra-cp-hex]..., where keydelta (omitted when
    # 1) is from the previous key and cpdelta from the previous line's first code point.
    prevkey, prevcp = 0, 0
    for key, s in sorted(leaves):
        line = "%d" % (ord(s[0]) - prevcp)
        if key - prevkey != 1:
            line = "%x:%s" % (key - prevkey, line)
        for c in s[1:]:
            line += ",%x" % ord(c)
        out.write(line + "\n")
        prevkey, prevcp = key, ord(s[0])
    if codec == "gb18030":
        # Four-byte sequences b1 b2 b3 b4 (81-FE 30-39 81-FE 30-39): linear index
        # ((b1-0x81)*10+(b2-0x30))*1260+(b3-0x81)*10+(b4-0x30). Below 39420 the BMP ranges
        # (stored as runs); from b1=0x90 on, U+10000 + index - 189000 up to U+10FFFF; else
        # an error. Checked here against every four-byte sequence.
        runs = []
        for b1 in range(0x81, 0xFF):
            for b2 in range(0x30, 0x3A):
                for b3 in range(0x81, 0xFF):
                    for b4 in range(0x30, 0x3A):
                        seq = bytes([b1, b2, b3, b4])
                        lseq = ((b1 - 0x81) * 10 + (b2 - 0x30)) * 1260 + (b3 - 0x81) * 10 + (b4 - 0x30)
                        kind, s = classify("gb18030", seq)
                        if lseq < 39420:
                            assert kind == "ok" and len(s) == 1, seq
                            cp = ord(s)
                            if runs and runs[-1][0] + runs[-1][2] == lseq and runs[-1][1] + runs[-1][2] == cp:
                                runs[-1][2] += 1
                            else:
                                runs.append([lseq, cp, 1])
                        elif b1 >= 0x90 and 0x10000 + lseq - 189000 <= 0x10FFFF:
                            assert kind == "ok" and s == chr(0x10000 + lseq - 189000), seq
                        else:
                            assert kind == "bad", seq
        for r in runs:
            out.write("run %x %x %x\n" % tuple(r))
        for bad in (b"\x81\x30\x80\x30", b"\x81\x30\x81\x2f", b"\x81\x30\xff\x30"):
            assert classify("gb18030", bad)[0] == "bad"

    if codec == "euc_kr":
        # KS X 1001:1998 Annex 3 make-up sequences A4 D4 A4 c3 A4 c5 A4 c7 decode to
        # U+AC00 + cho[c3]*588 + jung[c5]*28 + jong[c7]; any other A4 D4 ... is an error.
        # The three tables are read off one axis at a time, then checked on every c3 c5 c7.
        def mk(c3, c5, c7):
            return bytes([0xA4, 0xD4, 0xA4, c3, 0xA4, c5, 0xA4, c7])
        axes = []
        for pos in range(3):
            t = {}
            for c in range(256):
                args = [0xA1, 0xBF, 0xD4]
                args[pos] = c
                kind, s = classify("euc_kr", mk(*args))
                if kind == "ok":
                    assert len(s) == 1
                    t[c] = ord(s) - 0xAC00
            axes.append(t)
        for c3, cho in axes[0].items():
            assert cho % 588 == 0
        for c3, cho in axes[0].items():
            for c5, jung in axes[1].items():
                for c7, jong in axes[2].items():
                    kind, s = classify("euc_kr", mk(c3, c5, c7))
                    assert kind == "ok" and s == chr(0xAC00 + cho + jung + jong)
        for c3 in (0xA0, 0xBF, 0x41):
            assert classify("euc_kr", mk(c3, 0xBF, 0xD4))[0] == "bad"
        assert classify("euc_kr", b"\xa4\xd4\xa5\xa1\xa4\xbf\xa4\xd4")[0] == "bad"
        for name, t, scale in (("cho", axes[0], 588), ("jung", axes[1], 28), ("jong", axes[2], 1)):
            for c in sorted(t):
                out.write("%s %x %x\n" % (name, c, t[c] // scale))

with open("../pycodec/cjk.txt.gz", "wb") as f:
    with gzip.GzipFile(fileobj=f, mode="wb", mtime=0, compresslevel=9, filename="") as z:
        z.write(out.getvalue().encode())


def golit(s):
    return json.dumps(s, ensure_ascii=True)


g = io.StringIO()
g.write("// Code generated by dataset/testdata/gen_pycodec.py from CPython %s; DO NOT EDIT.\n\n" % sys.version.split()[0])
g.write("package pycodec\n\n")
g.write("// aliases is encodings.aliases.aliases: normalized alias -> codec module.\n")
g.write("var aliases = map[string]string{\n")
for k in sorted(encodings.aliases.aliases):
    g.write("\t%s: %s,\n" % (golit(k), golit(encodings.aliases.aliases[k])))
g.write("}\n\n")
g.write("// modules are the importable modules of the encodings package (Linux), by kind.\n")
g.write("var modules = map[string]kind{\n")
for k in sorted(modules):
    g.write("\t%s: %s,\n" % (golit(k), modules[k]))
g.write("}\n\n")
g.write("// charmaps are the charmap codecs' decoding tables: byte b decodes to the b-th rune;\n")
g.write("// U+FFFE marks an undefined byte (a strict decode error).\n")
g.write("var charmaps = map[string]string{\n")
for k in sorted(charmaps):
    g.write("\t%s: %s,\n" % (golit(k), golit(charmaps[k])))
g.write("}\n")
with open("../pycodec/tables_gen.go", "w") as f:
    f.write(g.getvalue())
subprocess.run(["gofmt", "-w", "../pycodec/tables_gen.go"], check=True)
