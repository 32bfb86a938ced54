package timelock

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/pretrain/pretrain/chain"
	"github.com/pretrain/pretrain/chain/internal/scale"
)

// WeightsPayload is subtensor's WeightsTlockPayload {hotkey: Vec<u8>, uids: Vec<u16>,
// values: Vec<u16>, version_key: u64}, the plaintext of a timelocked weight commit.
type WeightsPayload struct {
	Hotkey     [32]byte // the committing hotkey's public key; the chain checks it is the committer
	UIDs       []chain.UID
	Values     []uint16
	VersionKey uint64
}

// Encode is the payload's SCALE encoding.
func (p WeightsPayload) Encode() []byte {
	b := scale.AppendCompact(nil, uint64(len(p.Hotkey)))
	b = append(b, p.Hotkey[:]...)
	b = scale.AppendCompact(b, uint64(len(p.UIDs)))
	for _, u := range p.UIDs {
		b = binary.LittleEndian.AppendUint16(b, uint16(u))
	}
	b = scale.AppendCompact(b, uint64(len(p.Values)))
	for _, v := range p.Values {
		b = binary.LittleEndian.AppendUint16(b, v)
	}
	return binary.LittleEndian.AppendUint64(b, p.VersionKey)
}

// DecodeWeightsPayload reads a payload from untrusted bytes, which it must fill exactly. A
// hotkey that is not 32 bytes (an AccountId) is an error, as the chain's check of the
// committer fails on it.
func DecodeWeightsPayload(b []byte) (WeightsPayload, error) {
	var p WeightsPayload
	n, b, err := readLen(b, 1)
	if err != nil {
		return p, fmt.Errorf("weights payload hotkey: %w", err)
	}
	if n != len(p.Hotkey) {
		return p, fmt.Errorf("weights payload hotkey: %d bytes, want 32", n)
	}
	copy(p.Hotkey[:], b)
	b = b[n:]
	if n, b, err = readLen(b, 2); err != nil {
		return p, fmt.Errorf("weights payload uids: %w", err)
	}
	p.UIDs = make([]chain.UID, n)
	for i := range p.UIDs {
		p.UIDs[i] = chain.UID(binary.LittleEndian.Uint16(b[2*i:]))
	}
	b = b[2*n:]
	if n, b, err = readLen(b, 2); err != nil {
		return p, fmt.Errorf("weights payload values: %w", err)
	}
	p.Values = make([]uint16, n)
	for i := range p.Values {
		p.Values[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	b = b[2*n:]
	if len(b) != 8 {
		return p, fmt.Errorf("weights payload: %d bytes after the values, want the 8-byte version key", len(b))
	}
	p.VersionKey = binary.LittleEndian.Uint64(b)
	return p, nil
}

// readLen reads a compact length of elements of size bytes each and checks they are there.
func readLen(b []byte, size int) (int, []byte, error) {
	n, k, err := scale.ReadCompact(b)
	if err != nil {
		return 0, nil, err
	}
	b = b[k:]
	if n > uint64(len(b)/size) {
		return 0, nil, errors.New("length longer than the input")
	}
	return int(n), b, nil
}

// Beacon is what weight commits are encrypted to: a beacon's public key and schedule.
type Beacon struct {
	PublicKey PublicKey
	Schedule  Schedule
}

// Quicknet is drand quicknet, the beacon of subtensor's commit-reveal.
func Quicknet() Beacon { return Beacon{PublicKey: QuicknetPublicKey(), Schedule: QuicknetSchedule} }

// SealWeights is a validator's side of commit-reveal, as bittensor's SDK does it: p
// encrypted to the round RevealRound picks for a commit made at at. It returns the
// ciphertext and that round, the arguments of commit_timelocked_weights.
func SealWeights(b Beacon, at CommitTime, p WeightsPayload, rand io.Reader) (ciphertext []byte, round uint64, err error) {
	if len(p.UIDs) != len(p.Values) {
		return nil, 0, fmt.Errorf("commit weights: %d uids, %d weights: %w", len(p.UIDs), len(p.Values), chain.ErrInvalid)
	}
	round = RevealRound(b.Schedule, at)
	ciphertext, err = Encrypt(b.PublicKey, round, p.Encode(), rand)
	return ciphertext, round, err
}
