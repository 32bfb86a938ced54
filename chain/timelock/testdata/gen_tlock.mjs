// Cross-checks this package's timelock encryption against the tle crate (ideal-lab5/timelock)
// compiled to WASM in npm @ideallabs/timelock.js (its dependency
// @ideallabs/timelock_wasm_wrapper). It reads tlock-vectors.json (keys, payload and the Go
// ciphertexts, written by `go test -run TestTlockVectors -update`), then
//   1. encrypts the payload (and an empty message) with the WASM tle to each key's round,
//   2. decrypts every Go ciphertext with the WASM tld and the round's signature,
// and writes both results back into tlock-vectors.json.
//
// Run from this directory, with the package installed outside the repository:
//   (cd /tmp/tlejs && npm install @ideallabs/timelock.js@1.0.1)
//   NODE_PATH=/tmp/tlejs/node_modules node gen_tlock.mjs
import { readFileSync, writeFileSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const req = createRequire(join(process.env.NODE_PATH ?? join(process.cwd(), 'node_modules'), 'x.js'));
const wrapperDir = req.resolve('@ideallabs/timelock_wasm_wrapper').replace(/timelock_wasm_wrapper\.js$/, '');
const { initSync, tle, tld } = await import(join(wrapperDir, 'timelock_wasm_wrapper.js'));
initSync({ module: readFileSync(join(wrapperDir, 'timelock_wasm_wrapper_bg.wasm')) });
const pkgVersion = (name) => JSON.parse(readFileSync(req.resolve(`${name}/package.json`), 'utf8')).version;

const file = 'tlock-vectors.json';
const v = JSON.parse(readFileSync(file, 'utf8'));
const hex = (s) => Uint8Array.from(Buffer.from(s, 'hex'));
const toHex = (b) => Buffer.from(b).toString('hex');
// The drand identity of a round: sha256 of the round as a big-endian u64.
const identity = (round) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(round));
  return Uint8Array.from(createHash('sha256').update(b).digest());
};
const sha = (h) => createHash('sha256').update(Buffer.from(h, 'hex')).digest('hex');
const keys = Object.fromEntries(v.keys.map((k) => [k.name, k]));

v.js_package = `@ideallabs/timelock.js ${pkgVersion('@ideallabs/timelock.js')}, @ideallabs/timelock_wasm_wrapper ${pkgVersion('@ideallabs/timelock_wasm_wrapper')}`;
v.js = [];
for (const k of v.keys) {
  for (const [name, plain] of [['payload', v.payload.scale], ['empty', '']]) {
    // tle(identity, message, 32-byte secret (AES key and IBE message), master public key, curve)
    const ct = tle(identity(k.round), hex(plain), Uint8Array.from(randomBytes(32)), hex(k.public_key), 'bls12_381');
    const back = toHex(tld(ct, hex(k.signature), 'bls12_381'));
    if (back !== plain) throw new Error(`js ${k.name}/${name} does not round-trip`);
    v.js.push({ name: `${k.name}/${name}`, key: k.name, plaintext: plain, ciphertext: toHex(ct) });
  }
}
v.js_decrypts_go = v.go.map((c) => {
  try {
    return { name: c.name, ciphertext_sha256: sha(c.ciphertext), plaintext: toHex(tld(hex(c.ciphertext), hex(keys[c.key].signature), 'bls12_381')) };
  } catch (e) {
    return { name: c.name, ciphertext_sha256: sha(c.ciphertext), error: String(e?.message ?? e) };
  }
});
writeFileSync(file, JSON.stringify(v, null, 2) + '\n');
console.log(`${v.js.length} js ciphertexts; go decrypted by js:`, v.js_decrypts_go.map((d) => `${d.name}: ${d.error ?? 'ok'}`).join(', '));
