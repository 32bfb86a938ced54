package subtensor

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"math/big"
	"slices"

	bls "github.com/consensys/gnark-crypto/ecc/bls12-381"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fp"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"
)

// Timelock encryption to a drand quicknet round, byte-compatible with the tle crate of
// ideal-lab5/timelock that subtensor decrypts with (TLECiphertext<TinyBLS381> with
// AESGCMStreamCipherProvider, arkworks-serialized):
//
//   - the round's identity is sha256(round as big-endian u64), hashed to G1 with drand
//     quicknet's suite; the round's drand signature is the identity's IBE secret key;
//   - the header is Boneh–Franklin FullIdent on BLS12-381 with the master public key in G2:
//     U = rP, V = σ ⊕ H2(e(Q_id, r·P_pub)), W = k ⊕ H4(σ), where σ = sha256(t) for a random
//     scalar t, r = H3(σ, k) and k is a random 32-byte key;
//   - the body is AES-256-GCM of the message under k (12-byte nonce, no associated data).
//
// Arkworks serializes G1/G2 points compressed in the ZCash format (as gnark-crypto's Bytes),
// field elements little-endian, Vec<u8> as a u64 little-endian length and the bytes.

// Drand quicknet, the beacon subtensor ingests (bittensor-drand src/constants.rs).
const (
	quicknetGenesis = 1692803367 // unix seconds of round 1
	quicknetPeriod  = 3          // seconds per round
	quicknetDST     = "BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_"
	quicknetPubHex  = "83cf0f2896adee7eb8b5f01fcad3912212c437e0073e911fb90022d3e760183c8c4b450b6a0a6c3ac6a5776a2d1064510d1fec758c921cc22b0e17e63aaf4bcb5ed66304de9cf809bd274ca73bab4af5a6e9c76a4bc09e76eae8991ef5ece45a"
	tlockSuite      = "AES_GCM_"
)

// quicknetPublicKey parses drand quicknet's public key (in G2).
func quicknetPublicKey() (bls.G2Affine, error) {
	var p bls.G2Affine
	b, err := hex.DecodeString(quicknetPubHex)
	if err != nil {
		return p, err
	}
	if _, err := p.SetBytes(b); err != nil {
		return p, fmt.Errorf("drand quicknet public key: %w", err)
	}
	return p, nil
}

// roundIdentity is the message drand signs in round: sha256 of the round, big-endian.
func roundIdentity(round uint64) [32]byte {
	return sha256.Sum256(binary.BigEndian.AppendUint64(nil, round))
}

// roundPoint hashes round's identity to G1 (the IBE public key of the round).
func roundPoint(round uint64) (bls.G1Affine, error) {
	id := roundIdentity(round)
	return bls.HashToG1(id[:], []byte(quicknetDST))
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

// tlockEncrypt encrypts msg so that round's signature by the holder of pub decrypts it,
// reading its randomness from rand. It returns the serialized TLECiphertext<TinyBLS381>.
func tlockEncrypt(pub *bls.G2Affine, round uint64, msg []byte, rand io.Reader) ([]byte, error) {
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
	rPub.ScalarMultiplication(pub, r)
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
	return appendVec(out, []byte(tlockSuite)), nil
}
