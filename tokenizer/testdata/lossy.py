# lossy.py writes lossy.json: byte strings and what CPython's bytes.decode("utf-8", "replace")
# makes of them. CPython, like Rust's String::from_utf8_lossy in Hugging Face's decoder,
# replaces each maximal ill-formed subsequence with one U+FFFD. Run: python3 lossy.py
import json

cases = [b"", b"abc", b"\xe2\x82\xac", b"\xe2\x82", b"\xe2\x82x", b"\xe2", b"\x80", b"\x80\x80",
         b"\xc0\xaf", b"\xc2", b"\xc2\x41", b"\xed\xa0\x80", b"\xed\x9f\xbf", b"\xf0\x9f\x98", b"\xf0\x9f\x98\x80",
         b"\xf0\x80\x80\x80", b"\xf4\x90\x80\x80", b"\xf4\x8f\xbf\xbf", b"\xf5\x80", b"\xff\xfe", b"a\xf0\x9fb",
         b"\xe0\x80\x80", b"\xe0\xa0\x80", b"\xf0\x9f\x98\xe2\x82\xac", b"\xf1\x80\x80", b"\xef\xbf\xbd\xc3"]
out = [{"hex": c.hex(), "text": c.decode("utf-8", "replace")} for c in cases]
with open("lossy.json", "w", encoding="utf-8") as f:
    json.dump(out, f, ensure_ascii=False, indent=0)
    f.write("\n")
