// bench_tiktoken.js measures npm tiktoken's encode throughput (tokens/s, one thread) on the
// text BenchmarkEncode uses: the prose fixtures joined by "\n\n", cycled until 1 MiB. Run it beside
//   go test -run XXX -bench Encode ./tokenizer/
// as NODE_PATH=/tmp/tok/node_modules node tokenizer/testdata/bench_tiktoken.js
"use strict";
const fs = require("fs");
const path = require("path");
const zlib = require("zlib");
const { get_encoding } = require("tiktoken");

const prose = zlib.gunzipSync(fs.readFileSync(path.join(__dirname, "fixtures.jsonl.gz"))).toString("utf8")
  .split("\n").filter(Boolean).map((l) => JSON.parse(l)).filter((fx) => fx.name.startsWith("prose/"));
let text = "";
for (let i = 0; Buffer.byteLength(text) < 1 << 20; i = (i + 1) % prose.length) text += prose[i].text + "\n\n";
for (const [name, enc] of [["gpt2", get_encoding("gpt2")], ["cl100k_base", get_encoding("cl100k_base")]]) {
  enc.encode(text, "all"); // warm up
  let n = 0, runs = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < 3) {
    n += enc.encode(text, "all").length;
    runs++;
    elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  }
  console.log(`tiktoken ${name}: ${Buffer.byteLength(text)} bytes, ${runs} runs, ${(n / elapsed / 1e6).toFixed(3)} M tokens/s`);
}
