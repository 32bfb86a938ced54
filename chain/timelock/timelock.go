// Package timelock is commit-reveal's cryptography and round arithmetic, shared by the
// chain backends: timelock encryption to a round of a drand-style beacon, byte-compatible
// with the tle crate of ideal-lab5/timelock that subtensor decrypts with
// (TLECiphertext<TinyBLS381> with AESGCMStreamCipherProvider, arkworks-serialized); the
// beacon's BLS signatures (drand's bls-unchained-g1-rfc9380 scheme, as quicknet's); the
// reveal round bittensor's SDK picks for a weight commit; and the committed payload.
//
// The ciphertext:
//
//   - the round's identity is sha256(round as big-endian u64), hashed to G1 with quicknet's
//     suite; the round's beacon signature is the identity's IBE secret key;
//   - the header is Boneh–Franklin FullIdent on BLS12-381 with the master public key in G2:
//     U = rP, V = σ ⊕ H2(e(Q_id, r·P_pub)), W = k ⊕ H4(σ), where σ = sha256(t) for a random
//     scalar t, r = H3(σ, k) and k is a random 32-byte key;
//   - the body is AES-256-GCM of the message under k (12-byte nonce, no associated data).
//
// Arkworks serializes G1/G2 points compressed in the ZCash format (as gnark-crypto's Bytes),
// field elements little-endian, Vec<u8> as a u64 little-endian length and the bytes.
package timelock

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/big"
	"slices"

	bls "github.com/consensys/gnark-crypto/ecc/bls12-381"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fp"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"
)

// dst is the hash-to-curve domain of drand's bls-unchained-g1-rfc9380 scheme (quicknet's).
const dst = "BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_"

// suite names the stream cipher in a ciphertext (tle's AESGCMStreamCipherProvider).
const suite = "AES_GCM_"

// quicknetPubHex is drand quicknet's public key (bittensor-drand src/constants.rs).
const quicknetPubHex = "83cf0f2896adee7eb8b5f01fcad3912212c437e0073e911fb90022d3e760183c8c4b450b6a0a6c3ac6a5776a2d1064510d1fec758c921cc22b0e17e63aaf4bcb5ed66304de9cf809bd274ca73bab4af5a6e9c76a4bc09e76eae8991ef5ece45a"

// PublicKey is a beacon's public key, a point of G2.
type PublicKey struct{ p bls.G2Affine }

// QuicknetPublicKey is drand quicknet's public key, which subtensor's pulses verify under.
func QuicknetPublicKey() PublicKey {
	k, err := ParsePublicKey(mustHex(quicknetPubHex))
	if err != nil {
		panic(err) // a constant: cannot fail
	}
	return k
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// ParsePublicKey reads a compressed G2 point (96 bytes), checking it is on the curve and in
// the subgroup.
func ParsePublicKey(b []byte) (PublicKey, error) {
	var k PublicKey
	if len(b) != bls.SizeOfG2AffineCompressed {
		return k, fmt.Errorf("beacon public key: %d bytes, want %d", len(b), bls.SizeOfG2AffineCompressed)
	}
	if _, err := k.p.SetBytes(b); err != nil {
		return k, fmt.Errorf("beacon public key: %w", err)
	}
	return k, nil
}

// Bytes is the compressed point.
func (k PublicKey) Bytes() []byte {
	b := k.p.Bytes()
	return b[:]
}

// Signature is a beacon's signature of one round, a point of G1: the round's IBE secret key.
type Signature struct{ p bls.G1Affine }

// ParseSignature reads a compressed G1 point (48 bytes), as drand publishes it.
func ParseSignature(b []byte) (Signature, error) {
	var s Signature
	if len(b) != bls.SizeOfG1AffineCompressed {
		return s, fmt.Errorf("beacon signature: %d bytes, want %d", len(b), bls.SizeOfG1AffineCompressed)
	}
	if _, err := s.p.SetBytes(b); err != nil {
		return s, fmt.Errorf("beacon signature: %w", err)
	}
	return s, nil
}

// Bytes is the compressed point.
func (s Signature) Bytes() []byte {
	b := s.p.Bytes()
	return b[:]
}

// SecretKey is a beacon's signing key (a scalar), for a beacon run locally.
type SecretKey struct{ s *big.Int }

// NewSecretKey derives a secret key from seed: sha256(seed) reduced mod r. Equal seeds
// give equal keys.
func NewSecretKey(seed []byte) SecretKey {
	h := sha256.Sum256(seed)
	s := new(big.Int).SetBytes(h[:])
	return SecretKey{s.Mod(s, fr.Modulus())}
}

// PublicKey is s·G2.
func (k SecretKey) PublicKey() PublicKey {
	var p PublicKey
	p.p.ScalarMultiplicationBase(k.s)
	return p
}

// Sign returns the beacon's signature of round: s·H(sha256(round)).
func (k SecretKey) Sign(round uint64) (Signature, error) {
	q, err := roundPoint(round)
	if err != nil {
		return Signature{}, err
	}
	var s Signature
	s.p.ScalarMultiplication(&q, k.s)
	return s, nil
}

// Verify reports whether sig is pub's signature of round: e(σ, G2) = e(H(sha256(round)), pub).
func Verify(pub PublicKey, round uint64, sig Signature) bool {
	q, err := roundPoint(round)
	if err != nil {
		return false
	}
	_, _, _, g2 := bls.Generators()
	var neg bls.G1Affine
	neg.Neg(&sig.p)
	ok, err := bls.PairingCheck([]bls.G1Affine{neg, q}, []bls.G2Affine{g2, pub.p})
	return err == nil && ok
}

// roundPoint hashes round's identity, sha256 of the round big-endian, to G1.
func roundPoint(round uint64) (bls.G1Affine, error) {
	id := sha256.Sum256(binary.BigEndian.AppendUint64(nil, round))
	return bls.HashToG1(id[:], []byte(dst))
}

// gtBytes serializes a pairing value as arkworks does: the tower coefficients of
// Fp12 = Fp6[w] over Fp6 = Fp2[v] over Fp2 = Fp[u], lowest first, each Fp little-endian.
func gtBytes(g *bls.GT) []byte {
	out := make([]byte, 0, 12*fp.Bytes)
	for _, e := range []*fp.Element{
		&g.C0.B0.A0, &g.C0.B0.A1, &g.C0.B1.A0, &g.C0.B1.A1, &g.C0.B2.A0, &g.C0.B2.A1,
		&g.C1.B0.A0, &g.C1.B0.A1, &g.C1.B1.A0, &g.C1.B1.A1, &g.C1.B2.A0, &g.C1.B2.A1,
	} {
		b := e.Bytes() // big-endian
		slices.Reverse(b[:])
		out = append(out, b[:]...)
	}
	return out
}

// h2 maps a pairing value to 32 bytes (tle's H2).
func h2(g *bls.GT) [32]byte { return sha256.Sum256(gtBytes(g)) }

// h3 maps (σ, k) to a scalar: sha256(σ‖k) read big-endian, reduced mod r (tle's H3).
func h3(sigma, k []byte) *big.Int {
	h := sha256.Sum256(append(slices.Clip(sigma), k...))
	n := new(big.Int).SetBytes(h[:])
	return n.Mod(n, fr.Modulus())
}

func xor32(a, b []byte) []byte {
	out := make([]byte, 32)
	for i := range out {
		out[i] = a[i] ^ b[i]
	}
	return out
}

func appendVec(b, v []byte) []byte {
	return append(binary.LittleEndian.AppendUint64(b, uint64(len(v))), v...)
}

// readVec reads an arkworks Vec<u8>.
func readVec(b []byte) (v, rest []byte, err error) {
	if len(b) < 8 {
		return nil, nil, errors.New("short vec length")
	}
	n := binary.LittleEndian.Uint64(b)
	if n > uint64(len(b)-8) {
		return nil, nil, errors.New("vec longer than input")
	}
	return b[8 : 8+n], b[8+n:], nil
}

// Encrypt encrypts msg so that round's signature by the holder of pub decrypts it, reading
// its randomness from rand. It returns the serialized TLECiphertext<TinyBLS381>.
func Encrypt(pub PublicKey, round uint64, msg []byte, rand io.Reader) ([]byte, error) {
	// k: the AES key and the IBE message; t: the IBE randomness; nonce: AES-GCM's.
	var k, nonce [32]byte
	var tb [64]byte
	if _, err := io.ReadFull(rand, k[:]); err != nil {
		return nil, fmt.Errorf("timelock encrypt: %w", err)
	}
	if _, err := io.ReadFull(rand, tb[:]); err != nil {
		return nil, fmt.Errorf("timelock encrypt: %w", err)
	}
	if _, err := io.ReadFull(rand, nonce[:12]); err != nil {
		return nil, fmt.Errorf("timelock encrypt: %w", err)
	}
	t := new(big.Int).SetBytes(tb[:])
	t.Mod(t, fr.Modulus())
	var tLE [32]byte // arkworks serializes a scalar as 32 bytes little-endian
	t.FillBytes(tLE[:])
	slices.Reverse(tLE[:])
	sigma := sha256.Sum256(tLE[:])
	r := h3(sigma[:], k[:])

	var u bls.G2Affine
	u.ScalarMultiplicationBase(r)
	q, err := roundPoint(round)
	if err != nil {
		return nil, fmt.Errorf("timelock encrypt: %w", err)
	}
	var rPub bls.G2Affine
	rPub.ScalarMultiplication(&pub.p, r)
	g, err := bls.Pair([]bls.G1Affine{q}, []bls.G2Affine{rPub})
	if err != nil {
		return nil, fmt.Errorf("timelock encrypt: %w", err)
	}
	mask := h2(&g)
	v := xor32(sigma[:], mask[:])
	hs := sha256.Sum256(sigma[:])
	w := xor32(k[:], hs[:])

	block, err := aes.NewCipher(k[:])
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	sealed := gcm.Seal(nil, nonce[:12], msg, nil)
	body := appendVec(nil, sealed)
	body = appendVec(body, nonce[:12])

	ub := u.Bytes()
	out := make([]byte, 0, len(ub)+3*8+64+len(body)+16)
	out = append(out, ub[:]...)
	out = appendVec(out, v)
	out = appendVec(out, w)
	out = appendVec(out, body)
	return appendVec(out, []byte(suite)), nil
}

// ErrLayout: the ciphertext is not a TLECiphertext<TinyBLS381> with an AES-GCM body.
var ErrLayout = errors.New("not a timelock ciphertext")

// ErrOpen: the ciphertext is well formed but does not open with this signature (another
// round's or another beacon's, or tampered with).
var ErrOpen = errors.New("timelock ciphertext does not open with this signature")

// Decrypt is tle's tld: it opens a ciphertext from untrusted input with the round's
// signature, as subtensor does when it reveals a commit. Errors wrap ErrLayout or ErrOpen.
func Decrypt(ct []byte, sig Signature) ([]byte, error) {
	if len(ct) < bls.SizeOfG2AffineCompressed {
		return nil, fmt.Errorf("%w: %d bytes", ErrLayout, len(ct))
	}
	var u bls.G2Affine
	if _, err := u.SetBytes(ct[:bls.SizeOfG2AffineCompressed]); err != nil {
		return nil, fmt.Errorf("%w: header point: %v", ErrLayout, err)
	}
	v, rest, err := readVec(ct[bls.SizeOfG2AffineCompressed:])
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrLayout, err)
	}
	w, rest, err := readVec(rest)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrLayout, err)
	}
	body, rest, err := readVec(rest)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrLayout, err)
	}
	cs, rest, err := readVec(rest)
	if err != nil || len(rest) != 0 || string(cs) != suite || len(v) != 32 || len(w) != 32 {
		return nil, fmt.Errorf("%w: bad header or cipher suite", ErrLayout)
	}
	sealed, rest, err := readVec(body)
	if err != nil {
		return nil, fmt.Errorf("%w: body: %v", ErrLayout, err)
	}
	nonce, rest, err := readVec(rest)
	if err != nil || len(rest) != 0 || len(nonce) != 12 {
		return nil, fmt.Errorf("%w: bad AES-GCM body", ErrLayout)
	}
	g, err := bls.Pair([]bls.G1Affine{sig.p}, []bls.G2Affine{u})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrOpen, err)
	}
	mask := h2(&g)
	sigma := xor32(v, mask[:])
	hs := sha256.Sum256(sigma)
	k := xor32(w, hs[:])
	var check bls.G2Affine
	check.ScalarMultiplicationBase(h3(sigma, k))
	if !check.Equal(&u) {
		return nil, ErrOpen
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	msg, err := gcm.Open(nil, nonce, sealed, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrOpen, err)
	}
	return msg, nil
}
