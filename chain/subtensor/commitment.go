package subtensor

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/pretrain/pretrain/chain"
)

// Commitments.CommitmentOf(netuid, hotkey) holds Registration{deposit, block, info} where
// info.fields is a list of Data. Data's encoding is custom: Raw(bytes) is tag len+1 followed
// by the bytes; the metadata models it as variants Raw0..Raw128 of [u8; N], so decoding by
// type id reads it exactly (chain.md section 4.1). BigRaw (tag 136) carries a compact length.

// commitmentFromValue turns a decoded Registration into the committed string and its
// block. As bittensor's get_commitment, it reads the first field's bytes as UTF-8.
func commitmentFromValue(v any) (chain.Commitment, error) {
	var c chain.Commitment
	blk, err := field(v, "block")
	if err != nil {
		return c, fmt.Errorf("commitment: %w", err)
	}
	b, err := asUint(blk)
	if err != nil {
		return c, fmt.Errorf("commitment block: %w", err)
	}
	info, err := field(v, "info")
	if err != nil {
		return c, fmt.Errorf("commitment: %w", err)
	}
	fs, err := field(info, "fields")
	if err != nil {
		return c, fmt.Errorf("commitment info: %w", err)
	}
	list, err := asList(fs)
	if err != nil {
		return c, fmt.Errorf("commitment fields: %w", err)
	}
	if len(list) == 0 {
		return c, fmt.Errorf("commitment has no fields")
	}
	data, ok := list[0].(Enum)
	if !ok {
		return c, fmt.Errorf("commitment field 0 is %T, not Data", list[0])
	}
	if !strings.HasPrefix(data.Name, "Raw") && data.Name != "BigRaw" {
		return c, fmt.Errorf("commitment field 0 is %s, not raw data", data.Name)
	}
	raw, err := asBytes(data.Value)
	if err != nil {
		return c, fmt.Errorf("commitment field 0 (%s): %w", data.Name, err)
	}
	// bittensor's bytes(...).decode() raises on invalid UTF-8, and SN9 then treats the
	// metadata as missing.
	if !utf8.Valid(raw) {
		return c, fmt.Errorf("commitment field 0 is not valid utf-8")
	}
	return chain.Commitment{Data: string(raw), Block: chain.Block(b)}, nil
}

// decodeCommitment decodes a CommitmentOf storage value with the runtime's metadata.
func (m *Metadata) decodeCommitment(b []byte) (chain.Commitment, error) {
	_, e, err := m.StorageEntry("Commitments", "CommitmentOf")
	if err != nil {
		return chain.Commitment{}, err
	}
	v, err := m.DecodeValue(e.Value, b)
	if err != nil {
		return chain.Commitment{}, fmt.Errorf("commitment: %w", err)
	}
	return commitmentFromValue(v)
}

// commitmentKey is the storage key of Commitments.CommitmentOf(netuid, hotkey).
func (m *Metadata) commitmentKey(netuid uint16, hotkey [32]byte) ([]byte, error) {
	k, _, err := m.storageKey("Commitments", "CommitmentOf", appendU16(nil, netuid), hotkey[:])
	return k, err
}
