package wallet

import (
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	schnorrkel "github.com/ChainSafe/go-schnorrkel"
	bip39 "github.com/cosmos/go-bip39"
	subkey "github.com/vedhavyas/go-subkey/v2"
	"github.com/vedhavyas/go-subkey/v2/sr25519"
)

// Keypair is an sr25519 key: always a public key, and a secret unless it was loaded from a
// public-only file (coldkeypub.txt). It implements chain.Signer.
//
// Its String, Format and LogValue print only the SS58 address, so a Keypair in a log line or
// an error message never leaks the secret.
type Keypair struct {
	pub    [32]byte
	ss58   string
	pair   subkey.KeyPair // nil for public-only keys
	seed   []byte         // 32-byte mini secret, if known
	priv   []byte         // 64-byte schnorrkel secret (canonical scalar ‖ nonce), if known
	phrase string         // BIP39 mnemonic, if known
}

// ErrNoSecret is returned when signing with a public-only key.
var ErrNoSecret = errors.New("public key only")

// mnemonicWords bounds the phrases accepted: BIP39 allows 12 to 24 words.
const maxMnemonicLen = 24 * 9

// NewMnemonic returns a fresh 12-word BIP39 English mnemonic, bittensor's default length.
func NewMnemonic() (string, error) {
	entropy, err := bip39.NewEntropy(128)
	if err != nil {
		return "", fmt.Errorf("new mnemonic: %w", err)
	}
	return bip39.NewMnemonic(entropy)
}

// FromMnemonic derives the keypair of a BIP39 mnemonic the Substrate way (substrate-bip39:
// PBKDF2-HMAC-SHA512 over the entropy, salt "mnemonic", 2048 rounds; the first 32 bytes are
// the mini secret, expanded Ed25519-style), as btwallet's Keypair.create_from_mnemonic.
func FromMnemonic(phrase string) (*Keypair, error) {
	if len(phrase) > maxMnemonicLen || !bip39.IsMnemonicValid(phrase) {
		return nil, errors.New("keypair from mnemonic: invalid BIP39 mnemonic")
	}
	ms, err := schnorrkel.MiniSecretKeyFromMnemonic(phrase, "")
	if err != nil {
		return nil, fmt.Errorf("keypair from mnemonic: %w", err)
	}
	seed := ms.Encode()
	k, err := FromSeed(seed[:])
	if err != nil {
		return nil, err
	}
	k.phrase = phrase
	return k, nil
}

// FromSeed returns the keypair of a 32-byte mini secret (a keyfile's secretSeed).
func FromSeed(seed []byte) (*Keypair, error) {
	if len(seed) != 32 {
		return nil, fmt.Errorf("keypair from seed: %d bytes, want 32", len(seed))
	}
	pair, err := sr25519.Scheme{}.FromSeed(seed)
	if err != nil {
		return nil, fmt.Errorf("keypair from seed: %w", err)
	}
	var ms [32]byte
	copy(ms[:], seed)
	mini, err := schnorrkel.NewMiniSecretKeyFromRaw(ms)
	if err != nil {
		return nil, fmt.Errorf("keypair from seed: %w", err)
	}
	// btwallet's privateKey is schnorrkel's SecretKey::to_bytes: the canonical scalar, then the
	// nonce, which ExpandEd25519 takes from the second half of SHA-512(seed).
	key := mini.ExpandEd25519().Encode()
	h := sha512.Sum512(seed)
	priv := append(append([]byte{}, key[:]...), h[32:]...)
	return newKeypair(pair, append([]byte{}, seed...), priv)
}

// FromPrivateKey returns the keypair of a 64-byte schnorrkel secret key (canonical scalar ‖
// nonce; a keyfile's privateKey).
func FromPrivateKey(priv []byte) (*Keypair, error) {
	if len(priv) != 64 {
		return nil, fmt.Errorf("keypair from private key: %d bytes, want 64", len(priv))
	}
	pair, err := sr25519.Scheme{}.FromSeed(priv)
	if err != nil {
		return nil, fmt.Errorf("keypair from private key: %w", err)
	}
	return newKeypair(pair, nil, append([]byte{}, priv...))
}

// FromURI derives a keypair from a Substrate secret URI: "<mnemonic or 0x seed>//hard/soft",
// or just a path such as "//Alice" for the well-known development accounts. Local chains and
// tests use it; real wallets use keyfiles.
func FromURI(uri string) (*Keypair, error) {
	if len(uri) > 1024 {
		return nil, fmt.Errorf("keypair from uri: %d bytes, want at most 1024", len(uri))
	}
	pair, err := subkey.DeriveKeyPair(sr25519.Scheme{}, uri)
	if err != nil {
		return nil, fmt.Errorf("keypair from uri: %w", err)
	}
	var seed []byte
	if s := pair.Seed(); len(s) == 32 {
		seed = append([]byte{}, s...)
	}
	return newKeypair(pair, seed, nil)
}

// FromPublicKey returns a public-only keypair.
func FromPublicKey(pub [32]byte) (*Keypair, error) {
	if _, err := schnorrkel.NewPublicKey(pub); err != nil {
		return nil, fmt.Errorf("public key %x: %w", pub, err)
	}
	return &Keypair{pub: pub, ss58: SS58Encode(pub)}, nil
}

func newKeypair(pair subkey.KeyPair, seed, priv []byte) (*Keypair, error) {
	var pub [32]byte
	if n := copy(pub[:], pair.Public()); n != 32 {
		return nil, fmt.Errorf("keypair: public key of %d bytes", n)
	}
	return &Keypair{pub: pub, ss58: SS58Encode(pub), pair: pair, seed: seed, priv: priv}, nil
}

// SS58 returns the address with prefix 42.
func (k *Keypair) SS58() string { return k.ss58 }

// PublicKey returns the 32-byte sr25519 public key (the account id).
func (k *Keypair) PublicKey() [32]byte { return k.pub }

// HasSecret reports whether k can sign.
func (k *Keypair) HasSecret() bool { return k.pair != nil }

// Sign returns the 64-byte sr25519 signature of msg under Substrate's signing context
// ("substrate"). Signatures are randomized, so two calls give different bytes.
func (k *Keypair) Sign(msg []byte) ([]byte, error) {
	if k.pair == nil {
		return nil, fmt.Errorf("sign with %s: %w", k.ss58, ErrNoSecret)
	}
	return k.pair.Sign(msg)
}

// Verify reports whether sig is a valid sr25519 signature of msg by public key pub.
func Verify(pub [32]byte, msg, sig []byte) bool {
	if len(sig) != 64 {
		return false
	}
	p, err := sr25519.Scheme{}.FromPublicKey(pub[:])
	if err != nil {
		return false
	}
	return p.Verify(msg, sig)
}

// String returns the SS58 address, never the secret.
func (k Keypair) String() string { return k.ss58 }

// Format prints the SS58 address for every verb, so %#v cannot dump the secret fields.
func (k Keypair) Format(f fmt.State, _ rune) { fmt.Fprint(f, k.ss58) }

// LogValue logs only the SS58 address.
func (k Keypair) LogValue() slog.Value { return slog.StringValue(k.ss58) }

func hex0x(b []byte) string { return "0x" + hex.EncodeToString(b) }

// parseHex0x decodes "0x"-prefixed (or bare) hex of exactly n bytes.
func parseHex0x(field, s string, n int) ([]byte, error) {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
	if len(s) != 2*n {
		return nil, fmt.Errorf("field %s: %d hex digits, want %d", field, len(s), 2*n)
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("field %s: %w", field, err)
	}
	return b, nil
}
