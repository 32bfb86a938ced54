// Generates events.json: System.Events storage values (Vec<EventRecord>) encoded by
// @polkadot/types 16.4.8 against the captured finney spec-343 V14 metadata, for the
// client's inclusion check. Run: node gen_events.mjs <chain-fixtures dir> > events.json
// (with @polkadot/types installed: npm install @polkadot/types@16.4.8).
import { readFileSync } from 'node:fs';
import { TypeRegistry, Metadata } from '@polkadot/types';

const dir = process.argv[2];
if (!dir) throw new Error('usage: node gen_events.mjs <chain-fixtures dir> > events.json');
const hex = readFileSync(`${dir}/metadata/finney-spec343-state_getMetadata-v14.hex`, 'utf8').trim();
const registry = new TypeRegistry();
const metadata = new Metadata(registry, hex);
registry.setMetadata(metadata);

const info = { weight: { refTime: 1000, proofSize: 10 }, class: 'Normal', paysFee: 'No' };
const moduleError = (pallet, name) => {
  const p = metadata.asLatest.pallets.find((x) => x.name.toString() === pallet);
  const t = metadata.asLatest.lookup.getSiType(p.errors.unwrap().type);
  const v = t.def.asVariant.variants.find((x) => x.name.toString() === name);
  return { Module: { index: p.index.toNumber(), error: [v.index.toNumber(), 0, 0, 0] } };
};
// An event is [pallet index, variant index] followed by its fields, each encoded with the
// field's type from the metadata's lookup.
const rec = (i, section, method, data) => {
  const p = metadata.asLatest.pallets.find((x) => x.name.toString() === section);
  const t = metadata.asLatest.lookup.getSiType(p.events.unwrap().type);
  const v = t.def.asVariant.variants.find((x) => x.name.toString() === method);
  const parts = [Uint8Array.of(p.index.toNumber(), v.index.toNumber())];
  v.fields.forEach((f, j) => {
    const value = Array.isArray(data) ? data[j] : data[f.name.unwrap().toString()];
    parts.push(registry.createType(registry.createLookupType(f.type), value).toU8a());
  });
  const bytes = new Uint8Array(parts.reduce((n, x) => n + x.length, 0));
  let off = 0;
  for (const x of parts) { bytes.set(x, off); off += x.length; }
  const event = registry.createType('Event', bytes);
  return { phase: { ApplyExtrinsic: i }, event, topics: [] };
};
const events = (records) => registry.createType('Vec<FrameSystemEventRecord>', records).toHex();

const cases = [];
const base = [rec(0, 'System', 'ExtrinsicSuccess', { dispatch_info: info })];
cases.push({
  name: 'success', index: 1, want: null,
  events: events([...base, rec(1, 'SubtensorModule', 'WeightsSet', [9, 3]), rec(1, 'System', 'ExtrinsicSuccess', { dispatch_info: info })]),
});
for (const [pallet, name] of [['SubtensorModule', 'SettingWeightsTooFast'], ['SubtensorModule', 'HotKeyNotRegisteredInSubNet'],
  ['SubtensorModule', 'CommitRevealEnabled'], ['Commitments', 'TooManyFieldsInCommitmentInfo']]) {
  cases.push({
    name: `${pallet}.${name}`, index: 1, want: { pallet, name },
    events: events([...base, rec(1, 'System', 'ExtrinsicFailed', { dispatch_error: moduleError(pallet, name), dispatch_info: info })]),
  });
}
cases.push({
  name: 'BadOrigin', index: 1, want: { pallet: '', name: 'BadOrigin' },
  events: events([...base, rec(1, 'System', 'ExtrinsicFailed', { dispatch_error: 'BadOrigin', dispatch_info: info })]),
});
cases.push({ name: 'no outcome', index: 2, want: 'none', events: events(base) });
console.log(JSON.stringify({ generator: '@polkadot/types 16.4.8, metadata finney spec 343 V14', cases }, null, 1));
