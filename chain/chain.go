package chain

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
)

// Reader reads one chain's state. Every method blocks on I/O and honours ctx; backends also
// apply their own per-call timeout, so a nil-deadline ctx cannot hang forever.
// Implementations are safe for concurrent use.
type Reader interface {
	// CurrentBlock returns the number of the chain's best (latest) block.
	CurrentBlock(ctx context.Context) (Block, error)

	// BlockHash returns the hash of block b. It returns an error wrapping ErrNotFound when the
	// chain does not (yet, or any longer) know block b.
	BlockHash(ctx context.Context, b Block) (Hash, error)

	// Metagraph returns a snapshot of subnet netuid's neurons, weight rows included. It
	// returns an error wrapping ErrNotFound when the subnet does not exist.
	Metagraph(ctx context.Context, netuid uint16) (*Metagraph, error)

	// Commitment returns the data hotkey (SS58) last committed on subnet netuid and the block
	// it was committed at (the model's submission block in taoverse's ModelMetadata). It returns an
	// error wrapping ErrNotFound when the hotkey has no commitment there.
	Commitment(ctx context.Context, netuid uint16, hotkey string) (Commitment, error)

	// Hyperparameters returns subnet netuid's settings that govern weight setting. It
	// returns an error wrapping ErrNotFound when the subnet does not exist.
	Hyperparameters(ctx context.Context, netuid uint16) (Hyperparameters, error)
}

// Hyperparameters are the subnet settings a validator must respect when setting weights.
// With commit-reveal on, SetWeights commits and the chain applies the weights in the reveal
// epoch, RevealPeriodEpochs after the commit's (so within (RevealPeriodEpochs+1)·(Tempo+1)
// blocks); the rate limit then counts from the hotkey's last commit or reveal.
type Hyperparameters struct {
	Tempo               uint16 // blocks per epoch
	WeightsRateLimit    uint64 // blocks between two weight settings of one hotkey
	MinAllowedWeights   uint16
	MaxWeightLimit      uint16 // largest weight any uid may get, u16-normalized (65535 = no limit)
	WeightsVersion      uint64 // the version key set_weights must carry (at least)
	CommitRevealEnabled bool
	RevealPeriodEpochs  uint64
}

// Committer publishes a hotkey's commitment (a miner's model metadata).
type Committer interface {
	// Commit stores data as signer's commitment on subnet netuid, replacing any earlier one;
	// the chain records the current block with it. data is at most MaxCommitmentBytes bytes.
	// Errors wrap ErrNotRegistered, ErrRateLimited or ErrInvalid where they apply.
	Commit(ctx context.Context, signer Signer, netuid uint16, data string) error
}

// WeightSetter sets a validator's weights.
type WeightSetter interface {
	// SetWeights replaces signer's weight row on subnet netuid with (uids[i], weights[i])
	// (on a subnet with commit-reveal, once the timelocked commit is revealed),
	// the u16 form bittensor sends (scaled so the largest is 65535, zeros dropped).
	// versionKey must be at least the subnet's weights version key. Errors wrap
	// ErrNotRegistered, ErrRateLimited or ErrInvalid where they apply.
	SetWeights(ctx context.Context, signer Signer, netuid uint16, uids []UID, weights []uint16, versionKey uint64) error
}

// WeightCommitReader reads back a hotkey's timelocked weight commits (the form SetWeights
// takes on a subnet with commit-reveal), so a validator can see whether its weights were
// revealed and applied, or why not. Backends implement it as far as their state records it.
type WeightCommitReader interface {
	// WeightCommits returns hotkey's commits on subnet netuid that the chain still knows,
	// oldest first.
	WeightCommits(ctx context.Context, netuid uint16, hotkey string) ([]WeightCommit, error)
}

// WeightCommit is one timelocked weight commit and what became of it.
type WeightCommit struct {
	Block       Block        // block the commit was made at
	RevealRound uint64       // beacon round whose signature opens it
	Status      CommitStatus // pending until the chain reveals or drops it
	Resolved    Block        // block it was revealed or dropped at; 0 while pending
	Reason      string       // why it was dropped (CommitFailed)
}

// CommitStatus is a weight commit's state.
type CommitStatus string

// Weight commit states.
const (
	CommitPending  CommitStatus = "pending"  // waiting for its round's signature and reveal epoch
	CommitRevealed CommitStatus = "revealed" // opened and applied as set_weights
	CommitFailed   CommitStatus = "failed"   // dropped: did not open, decode or pass set_weights' checks, or expired
)

// Chain is everything a validator or miner needs from a chain backend.
type Chain interface {
	Reader
	Committer
	WeightSetter
}

// Signer is a hotkey that signs extrinsics: an sr25519 keypair (wallet.Keypair) or anything
// else able to sign for an SS58 address. Backends that do not check signatures (localchain)
// use only SS58.
type Signer interface {
	// SS58 returns the account's address with the generic prefix 42.
	SS58() string
	// PublicKey returns the 32-byte sr25519 public key.
	PublicKey() [32]byte
	// Sign returns the 64-byte sr25519 signature of msg.
	Sign(msg []byte) ([]byte, error)
}

// MaxCommitmentBytes bounds a commitment's data: one Raw field of at most 128 bytes, the limit of
// the Commitments pallet's Data::Raw and of the reference (taoverse model/data.py sizes ModelId's
// fields to fit it).
const MaxCommitmentBytes = 128

// Commitment is a hotkey's committed data and the block it was committed at.
type Commitment struct {
	Data  string
	Block Block
}

// Hash is a 32-byte block hash (blake2_256 of the header on subtensor).
type Hash [32]byte

// String returns the hash as 0x-prefixed lowercase hex, as Substrate's JSON-RPC writes it.
func (h Hash) String() string { return "0x" + hex.EncodeToString(h[:]) }

// ParseHash parses a 0x-prefixed (or bare) 64-digit hex hash.
func ParseHash(s string) (Hash, error) {
	var h Hash
	if len(s) >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		s = s[2:]
	}
	if len(s) != 2*len(h) {
		return h, fmt.Errorf("parse hash: length %d, want %d hex digits: %w", len(s), 2*len(h), ErrInvalid)
	}
	if _, err := hex.Decode(h[:], []byte(s)); err != nil {
		return h, fmt.Errorf("parse hash: %w", err)
	}
	return h, nil
}

// Errors that callers branch on. Backends wrap them with detail.
var (
	// ErrNotFound: no such block, subnet, neuron or commitment.
	ErrNotFound = errors.New("not found")
	// ErrNotRegistered: the signer's hotkey is not registered on the subnet.
	ErrNotRegistered = errors.New("hotkey not registered")
	// ErrRateLimited: the chain refuses the call until later blocks; retry after waiting.
	ErrRateLimited = errors.New("rate limited")
	// ErrInvalid: the chain rejects the call's arguments (bad lengths, uids, version key,
	// oversized commitment); retrying the same call cannot succeed.
	ErrInvalid = errors.New("invalid call")
)
