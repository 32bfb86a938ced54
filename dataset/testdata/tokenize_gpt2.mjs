// Token ids of every row of demo150.jsonl.gz with the official GPT-2 encoder (npm tiktoken,
// compiled from OpenAI's Rust tiktoken), untruncated. Writes gpt2_ids.json.gz: a JSON list,
// one list of ids per row, in file order.
// Usage: npm install --prefix /tmp/dsoracle tiktoken@1.0.22
//        NODE_PATH=/tmp/dsoracle/node_modules node tokenize_gpt2.mjs
import { createRequire } from "node:module";
import { readFileSync, writeFileSync } from "node:fs";
import { gunzipSync, gzipSync } from "node:zlib";
const require = createRequire(import.meta.url);
const { get_encoding } = require(process.env.NODE_PATH + "/tiktoken");

const enc = get_encoding("gpt2");
const rows = gunzipSync(readFileSync("demo150.jsonl.gz")).toString("utf8").split("\n").filter((l) => l);
// "all": a literal <|endoftext|> becomes the EOS id, as Hugging Face tokenizers do.
const ids = rows.map((l) => Array.from(enc.encode(JSON.parse(l).content, "all")));
writeFileSync("gpt2_ids.json.gz", gzipSync(JSON.stringify(ids)));
console.log(`rows ${rows.length}, tokens ${ids.reduce((a, x) => a + x.length, 0)}, max ${Math.max(...ids.map((x) => x.length))}`);
enc.free();
