package subtensor

import (
	"fmt"

	"github.com/centrifuge/go-substrate-rpc-client/v4/xxhash"
	"golang.org/x/crypto/blake2b"
)

// twox128 is Substrate's 128-bit xxHash (two seeded xxh64s), used for pallet and item
// prefixes of storage keys.
func twox128(b []byte) []byte { return xxhash.New128(b).Sum(nil) }

func blake2_256(b []byte) [32]byte { return blake2b.Sum256(b) }

// hashKeyPart applies a storage hasher to one SCALE-encoded key part.
func hashKeyPart(h Hasher, k []byte) ([]byte, error) {
	switch h {
	case HasherIdentity:
		return k, nil
	case HasherTwox64Concat:
		return append(xxhash.New64(k).Sum(nil), k...), nil
	case HasherBlake2_128Concat:
		d, _ := blake2b.New(16, nil) // size 16 is always valid
		d.Write(k)
		return append(d.Sum(nil), k...), nil
	case HasherTwox128:
		return twox128(k), nil
	case HasherTwox256:
		return xxhash.New256(k).Sum(nil), nil
	case HasherBlake2_128:
		d, _ := blake2b.New(16, nil)
		d.Write(k)
		return d.Sum(nil), nil
	case HasherBlake2_256:
		s := blake2b.Sum256(k)
		return s[:], nil
	}
	return nil, fmt.Errorf("hasher %d unknown", h)
}

// storageKey builds the key of pallet.item for the given SCALE-encoded key parts, with the
// hashers the metadata declares. Fewer parts than hashers give a prefix for iterating
// (state_getKeysPaged) over the remaining ones.
func (m *Metadata) storageKey(pallet, item string, parts ...[]byte) ([]byte, *StorageEntry, error) {
	p, e, err := m.StorageEntry(pallet, item)
	if err != nil {
		return nil, nil, err
	}
	if len(parts) > len(e.Hashers) {
		return nil, nil, fmt.Errorf("storage %s.%s: %d key parts, the map has %d", pallet, item, len(parts), len(e.Hashers))
	}
	key := append(twox128([]byte(p.StoragePrefix)), twox128([]byte(item))...)
	for i, part := range parts {
		h, err := hashKeyPart(e.Hashers[i], part)
		if err != nil {
			return nil, nil, fmt.Errorf("storage %s.%s: %w", pallet, item, err)
		}
		key = append(key, h...)
	}
	return key, e, nil
}
