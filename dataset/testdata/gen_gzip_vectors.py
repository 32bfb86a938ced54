"""Reference vectors for Stack v2 blob bodies: what Python's gzip.GzipFile(fileobj=...).read()
(smart_open's compression=".gz") returns for whole bodies. Writes gzip_vectors.json.

Run from this directory: python3 gen_gzip_vectors.py
"""
import gzip
import io
import json
import sys

assert sys.version_info[:2] == (3, 11), sys.version

a = gzip.compress(b"ab", mtime=0)
c = gzip.compress(b"cd", mtime=0)
bad_crc = bytearray(a)
bad_crc[-8] ^= 0xFF
cases = {
    "empty": b"",
    "one member": a,
    "two members": a + c,
    "zero padding after": a + b"\x00\x00\x00",
    "zero padding between": a + b"\x00\x00" + c + b"\x00",
    "leading zero": b"\x00" + a,
    "padding then garbage": a + b"\x00x",
    "trailing garbage": a + b"xyz",
    "partial second header": a + b"\x1f",
    "truncated stream": a[:-1],
    "bad crc": bytes(bad_crc),
    "not gzip": b"not gzip at all",
    "only zeros": b"\x00\x00",
}
out = []
for name, body in cases.items():
    v = {"name": name, "hex": body.hex()}
    try:
        v["out"] = gzip.GzipFile(fileobj=io.BytesIO(body)).read().hex()
    except Exception as e:  # BadGzipFile, EOFError
        v["err"] = type(e).__name__
    out.append(v)
json.dump(out, sys.stdout, indent=1)
sys.stdout.write("\n")
