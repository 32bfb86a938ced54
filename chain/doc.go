// Package chain holds the types shared by everything that reads or writes the Bittensor chain:
// block numbers, uids, the metagraph, and the model metadata miners commit (taoverse's
// ModelId.to_compressed_str string). Backends live in subpackages: localchain (embedded) and
// subtensor (the real network).
package chain

// Block is a block number. Differences of blocks may be negative, hence signed.
type Block int64

// UID is a neuron's index in a subnet's metagraph (u16 on chain).
type UID uint16
