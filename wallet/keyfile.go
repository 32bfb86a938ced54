package wallet

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/nacl/secretbox"
)

// MaxKeyfileBytes bounds a keyfile read from disk; real ones are a few hundred bytes.
const MaxKeyfileBytes = 64 << 10

// ErrEncrypted is returned when a keyfile is encrypted and no password was given.
var ErrEncrypted = errors.New("keyfile is encrypted")

// keyfileJSON is btwallet's keyfile: every field optional, strings or null
// (btwallet src/keyfile.rs, serialized_keypair_to_keyfile_data).
type keyfileJSON struct {
	AccountID    *string `json:"accountId,omitempty"`
	PrivateKey   *string `json:"privateKey,omitempty"`
	PublicKey    *string `json:"publicKey,omitempty"`
	SecretPhrase *string `json:"secretPhrase,omitempty"`
	SecretSeed   *string `json:"secretSeed,omitempty"`
	SS58Address  *string `json:"ss58Address,omitempty"`
}

// ParseKeyfile decodes a plaintext JSON keyfile. Like btwallet's
// deserialize_keypair_from_keyfile_data it uses the first field present of secretPhrase,
// secretSeed, privateKey, then ss58Address (public only); accountId and publicKey are
// ignored, as btwallet ignores them.
func ParseKeyfile(data []byte) (*Keypair, error) {
	if len(data) > MaxKeyfileBytes {
		return nil, fmt.Errorf("parse keyfile: %d bytes, want at most %d", len(data), MaxKeyfileBytes)
	}
	if isNaCl(data) {
		return nil, fmt.Errorf("parse keyfile: %w", ErrEncrypted)
	}
	var kf keyfileJSON
	if err := json.Unmarshal(data, &kf); err != nil {
		return nil, fmt.Errorf("parse keyfile: %w", err)
	}
	var (
		k   *Keypair
		err error
	)
	switch {
	case kf.SecretPhrase != nil:
		k, err = FromMnemonic(*kf.SecretPhrase)
	case kf.SecretSeed != nil:
		var seed []byte
		if seed, err = parseHex0x("secretSeed", *kf.SecretSeed, 32); err == nil {
			k, err = FromSeed(seed)
		}
	case kf.PrivateKey != nil:
		var priv []byte
		if priv, err = parseHex0x("privateKey", *kf.PrivateKey, 64); err == nil {
			k, err = FromPrivateKey(priv)
		}
	case kf.SS58Address != nil:
		var pub [32]byte
		if pub, err = SS58Decode(*kf.SS58Address); err == nil {
			k, err = FromPublicKey(pub)
		}
	default:
		err = errors.New("no secretPhrase, secretSeed, privateKey or ss58Address")
	}
	if err != nil {
		return nil, fmt.Errorf("parse keyfile: %w", err)
	}
	return k, nil
}

// MarshalKeyfile encodes k as btwallet 4 writes it: public key fields, the 64-byte private
// key and the seed and mnemonic where known. With public true only the public fields are
// written (coldkeypub.txt, hotkeys/<name>pub.txt).
func MarshalKeyfile(k *Keypair, public bool) []byte {
	pub := hex0x(k.pub[:])
	kf := keyfileJSON{AccountID: &pub, PublicKey: &pub, SS58Address: &k.ss58}
	if !public {
		if k.priv != nil {
			s := hex0x(k.priv)
			kf.PrivateKey = &s
		}
		if k.seed != nil {
			s := hex0x(k.seed)
			kf.SecretSeed = &s
		}
		if k.phrase != "" {
			kf.SecretPhrase = &k.phrase
		}
	}
	b, _ := json.Marshal(kf) // strings only: cannot fail
	return b
}

// naclPrefix starts btwallet's default encrypted keyfile format.
var naclPrefix = []byte("$NACL")

// naclSalt is btwallet's fixed Argon2 salt (NACL_SALT in src/keyfile.rs).
var naclSalt = []byte{0x13, 0x71, 0x83, 0xdf, 0xf1, 0x5a, 0x09, 0xbc, 0x9c, 0x90, 0xb5, 0x51, 0x87, 0x39, 0xe9, 0xb1}

// Argon2 cost; variables only so that tests of the file format can run in milliseconds.
var naclPasses, naclMemKiB uint32 = 8, 512 * 1024

func isNaCl(data []byte) bool { return bytes.HasPrefix(data, naclPrefix) }

// naclKey derives the secretbox key as libsodium's crypto_pwhash_argon2i13 with
// OPSLIMIT_SENSITIVE (8 passes) and MEMLIMIT_SENSITIVE (512 MiB): about 6 s and 512 MiB.
func naclKey(password string) *[32]byte {
	var key [32]byte
	copy(key[:], argon2.Key([]byte(password), naclSalt, naclPasses, naclMemKiB, 1, 32))
	return &key
}

// DecryptNaCl opens a "$NACL" keyfile (nonce ‖ XSalsa20-Poly1305 box) with password.
// A wrong password is an error, never garbage.
func DecryptNaCl(data []byte, password string) ([]byte, error) {
	if len(data) > MaxKeyfileBytes {
		return nil, fmt.Errorf("decrypt keyfile: %d bytes, want at most %d", len(data), MaxKeyfileBytes)
	}
	if !isNaCl(data) {
		return nil, errors.New("decrypt keyfile: no $NACL prefix")
	}
	rest := data[len(naclPrefix):]
	if len(rest) < 24+secretbox.Overhead {
		return nil, fmt.Errorf("decrypt keyfile: %d bytes after prefix, want at least %d", len(rest), 24+secretbox.Overhead)
	}
	var nonce [24]byte
	copy(nonce[:], rest[:24])
	out, ok := secretbox.Open(nil, rest[24:], &nonce, naclKey(password))
	if !ok {
		return nil, errors.New("decrypt keyfile: wrong password or corrupt file")
	}
	return out, nil
}

// EncryptNaCl seals plaintext in btwallet's "$NACL" format under password.
func EncryptNaCl(plaintext []byte, password string) ([]byte, error) {
	var nonce [24]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return nil, fmt.Errorf("encrypt keyfile: %w", err)
	}
	out := append(append([]byte{}, naclPrefix...), nonce[:]...)
	return secretbox.Seal(out, plaintext, &nonce, naclKey(password)), nil
}
