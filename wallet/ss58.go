package wallet

import (
	"bytes"
	"fmt"

	"github.com/decred/base58"
	"golang.org/x/crypto/blake2b"
)

// SS58Prefix is the generic Substrate address format that Bittensor uses.
const SS58Prefix = 42

// SS58Encode returns the SS58 address (prefix 42) of a 32-byte public key.
func SS58Encode(pub [32]byte) string {
	body := make([]byte, 0, 35)
	body = append(body, SS58Prefix)
	body = append(body, pub[:]...)
	sum := ss58Checksum(body)
	return base58.Encode(append(body, sum[:2]...))
}

// SS58Decode parses an SS58 address with prefix 42 and a 32-byte account id. Other prefixes,
// lengths and bad checksums are errors; it never panics on any input.
func SS58Decode(addr string) ([32]byte, error) {
	var pub [32]byte
	if len(addr) > 64 {
		return pub, fmt.Errorf("decode ss58 address: %d characters, want at most 64", len(addr))
	}
	data := base58.Decode(addr)
	if len(data) != 35 {
		return pub, fmt.Errorf("decode ss58 address %q: %d bytes, want 35", addr, len(data))
	}
	if data[0] != SS58Prefix {
		return pub, fmt.Errorf("decode ss58 address %q: prefix %d, want %d", addr, data[0], SS58Prefix)
	}
	sum := ss58Checksum(data[:33])
	if !bytes.Equal(sum[:2], data[33:]) {
		return pub, fmt.Errorf("decode ss58 address %q: bad checksum", addr)
	}
	copy(pub[:], data[1:33])
	return pub, nil
}

// ss58Checksum is blake2b-512 over "SS58PRE" ‖ body; the address keeps its first two bytes.
func ss58Checksum(body []byte) [64]byte {
	return blake2b.Sum512(append([]byte("SS58PRE"), body...))
}
