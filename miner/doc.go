// Package miner is the miner's side of Subnet 9 and the helpers of the reference's notebook
// (pretrain/mining.py, pretrain/graph.py): a fresh model directory with its tokenizer, text
// generation, the push (constraint check, private upload, hash and secure hash, metadata commit
// read back until it matches, publication) with resumption after an interruption, the chain helpers
// (a miner's metadata, the best uid of a competition, a model's repo URL, the download of a
// committed model with its hash verified) and the "would I win?" score of a local model against the
// models on chain.
package miner
