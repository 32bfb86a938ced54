#!/usr/bin/env python3
"""Copy the chain fixtures this package tests against from the project's collection of captured
chain data (kept outside this repository; README.md here names each file's public origin) into
gzip files here, unchanged in content.

Run from this directory: python3 extract_fixtures.py path/to/chain-fixtures
"""
import gzip, json, os, sys

if len(sys.argv) != 2:
    sys.exit("usage: python3 extract_fixtures.py path/to/chain-fixtures")
src = sys.argv[1]

def put(name, data):
    if isinstance(data, str):
        data = data.encode()
    # mtime=0 keeps the output byte-identical between runs.
    with open(name, "wb") as f:
        f.write(gzip.compress(data, 9, mtime=0))

def hexblob(path):
    s = open(os.path.join(src, path)).read().strip()
    if s.startswith('"'):
        s = json.loads(s)
    return bytes.fromhex(s[2:] if s.startswith("0x") else s)

put("metadata-spec343-v14.scale.gz", hexblob("metadata/finney-spec343-state_getMetadata-v14.hex"))
put("metadata-spec343-v15.scale.gz", hexblob("metadata/finney-spec343-Metadata_metadata_at_version-15.hex"))
put("metadata-spec318-v15.scale.gz", hexblob("metadata/localnet-spec318-Metadata_metadata_at_version-15.json"))
put("metadata-spec393-v16.scale.gz", open(os.path.join(src, "metadata/finney-spec393-metadata-v16.scale"), "rb").read())
put("metadata-spec365-v16.scale.gz", open(os.path.join(src, "metadata/finney-spec365-metadata-v16.scale"), "rb").read())

caps = json.load(open(os.path.join(src, "rpc/finney-bittensor-ws-captures.json")))
keep = ["metagraph", "weights", "get_commitment", "get_block_hash", "get_current_block",
        "get_neuron_for_pubkey_and_subnet", "neurons_lite"]
put("captures.json.gz", json.dumps({k: caps[k] for k in keep}, sort_keys=True))

for name in ["rpc/finney-b6852690-netuid1-get_neurons_lite.decoded.json",
             "rpc/finney-b6852690-netuid1-get_subnet_state.decoded.json",
             "rpc/finney-misc-runtime-api.decoded.json",
             "rpc/finney-b3264157-netuid23-get_neurons_lite-spec208.decoded.json",
             "rpc/finney-storage-captures.decoded.json",
             "commitments/finney-b6852690-netuid1-CommitmentOf-values.json",
             "generated/finney-spec343-extrinsics.generated.json",
             "localnet/turbobt-spec318-rpc-vectors.json",
             "metadata/finney-spec343-layout.derived.json"]:
    put(os.path.basename(name) + ".gz", open(os.path.join(src, name), "rb").read())
