package subtensor

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"math/big"
	"os"
	"path/filepath"
	"testing"

	bls "github.com/consensys/gnark-crypto/ecc/bls12-381"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"
	"github.com/pretrain/pretrain/chain"
)

var update = flag.Bool("update", false, "rewrite testdata/tlock-vectors.json's Go side (then run gen_tlock.mjs)")

// The round-1000 pulse of drand quicknet (also in the tle crate's tests).
const (
	quicknetRound  = 1000
	quicknetSigHex = "b44679b9a59af2ec876b1a6b1ad52ea9b1615fc3982b19576350f93447cb1125e342b73a8dd2bacbe47e4b6b63ed5e39"
)

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

// tlockDecrypt is tle's tld: it opens a TLECiphertext<TinyBLS381> with the round's
// signature (the IBE secret key of the round's identity), as subtensor does.
func tlockDecrypt(ct []byte, sig *bls.G1Affine) ([]byte, error) {
	if len(ct) < bls.SizeOfG2AffineCompressed {
		return nil, errors.New("short ciphertext")
	}
	var u bls.G2Affine
	if _, err := u.SetBytes(ct[:bls.SizeOfG2AffineCompressed]); err != nil {
		return nil, err
	}
	v, rest, err := readVec(ct[bls.SizeOfG2AffineCompressed:])
	if err != nil {
		return nil, err
	}
	w, rest, err := readVec(rest)
	if err != nil {
		return nil, err
	}
	body, rest, err := readVec(rest)
	if err != nil {
		return nil, err
	}
	suite, rest, err := readVec(rest)
	if err != nil || len(rest) != 0 || string(suite) != tlockSuite || len(v) != 32 || len(w) != 32 {
		return nil, errors.New("bad ciphertext layout")
	}
	g, err := bls.Pair([]bls.G1Affine{*sig}, []bls.G2Affine{u})
	if err != nil {
		return nil, err
	}
	mask := h2(&g)
	sigma := xor32(v, mask[:])
	hs := sha256.Sum256(sigma)
	k := xor32(w, hs[:])
	var check bls.G2Affine
	check.ScalarMultiplicationBase(h3(sigma, k))
	if !check.Equal(&u) {
		return nil, errors.New("ibe: wrong key for this ciphertext")
	}
	sealed, rest, err := readVec(body)
	if err != nil {
		return nil, err
	}
	nonce, rest, err := readVec(rest)
	if err != nil || len(rest) != 0 || len(nonce) != 12 {
		return nil, errors.New("bad aes body")
	}
	block, _ := aes.NewCipher(k)
	gcm, _ := cipher.NewGCM(block)
	return gcm.Open(nil, nonce, sealed, nil)
}

// testBeacon is an IBE key pair whose master secret is known: sha256 of a label, mod r.
type testBeacon struct {
	secret *big.Int
	pub    bls.G2Affine
}

func newTestBeacon() testBeacon {
	h := sha256.Sum256([]byte("pretrain timelock test beacon"))
	s := new(big.Int).SetBytes(h[:])
	s.Mod(s, fr.Modulus())
	var b testBeacon
	b.secret = s
	b.pub.ScalarMultiplicationBase(s)
	return b
}

// signature is the beacon's signature of round: the round's IBE secret key.
func (b testBeacon) signature(t testing.TB, round uint64) bls.G1Affine {
	q, err := roundPoint(round)
	if err != nil {
		t.Fatal(err)
	}
	var sig bls.G1Affine
	sig.ScalarMultiplication(&q, b.secret)
	return sig
}

// detRand is a deterministic byte stream (sha256 in counter mode) for reproducible vectors.
type detRand struct {
	seed string
	n    uint64
	buf  []byte
}

func (r *detRand) Read(p []byte) (int, error) {
	for len(r.buf) < len(p) {
		h := sha256.Sum256(binary.BigEndian.AppendUint64([]byte(r.seed), r.n))
		r.n++
		r.buf = append(r.buf, h[:]...)
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

func g1FromHex(t testing.TB, s string) bls.G1Affine {
	var p bls.G1Affine
	if _, err := p.SetBytes(unhex(t, s)); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestQuicknetPulse checks the hash to G1 against drand: quicknet's round-1000 signature
// verifies, e(σ, G2) = e(H(sha256(1000)), pk).
func TestQuicknetPulse(t *testing.T) {
	pk, err := quicknetPublicKey()
	if err != nil {
		t.Fatal(err)
	}
	sig := g1FromHex(t, quicknetSigHex)
	q, err := roundPoint(quicknetRound)
	if err != nil {
		t.Fatal(err)
	}
	_, _, _, g2 := bls.Generators()
	var negSig bls.G1Affine
	negSig.Neg(&sig)
	ok, err := bls.PairingCheck([]bls.G1Affine{negSig, q}, []bls.G2Affine{g2, pk})
	if err != nil || !ok {
		t.Fatalf("quicknet round %d signature does not verify (%v)", quicknetRound, err)
	}
}

func TestTlockRoundTrip(t *testing.T) {
	b := newTestBeacon()
	msg := []byte("weights")
	ct, err := tlockEncrypt(&b.pub, 42, msg, &detRand{seed: "rt"})
	if err != nil {
		t.Fatal(err)
	}
	sig := b.signature(t, 42)
	got, err := tlockDecrypt(ct, &sig)
	if err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("tlockDecrypt = %q, %v; want %q", got, err, msg)
	}
	wrong := b.signature(t, 43)
	if _, err := tlockDecrypt(ct, &wrong); err == nil {
		t.Error("round 43's signature opened a round-42 ciphertext")
	}
}

// tlockVectors is testdata/tlock-vectors.json: ciphertexts made by this package (go) and
// by @ideallabs/timelock.js (js, the tle crate compiled to WASM), each side's decryption
// of the other's, and the keys. gen_tlock.mjs writes the js parts.
type tlockVectors struct {
	Note    string     `json:"note"`
	Keys    []tlockKey `json:"keys"`
	Payload struct {
		Hotkey     string   `json:"hotkey"`
		UIDs       []uint16 `json:"uids"`
		Values     []uint16 `json:"values"`
		VersionKey uint64   `json:"version_key"`
		SCALE      string   `json:"scale"`
	} `json:"payload"`
	Go           []tlockCase       `json:"go"`
	JSPackage    string            `json:"js_package,omitempty"`
	JS           []tlockCase       `json:"js,omitempty"`
	JSDecryptsGo []tlockDecryption `json:"js_decrypts_go,omitempty"`
}

type tlockKey struct {
	Name         string `json:"name"`
	MasterSecret string `json:"master_secret,omitempty"`
	PublicKey    string `json:"public_key"`
	Round        uint64 `json:"round"`
	Signature    string `json:"signature"`
}

type tlockCase struct {
	Name       string `json:"name"`
	Key        string `json:"key"`
	Plaintext  string `json:"plaintext"`
	Ciphertext string `json:"ciphertext"`
}

type tlockDecryption struct {
	Name      string `json:"name"`
	CTSHA256  string `json:"ciphertext_sha256"` // of the ciphertext decrypted
	Plaintext string `json:"plaintext,omitempty"`
	Error     string `json:"error,omitempty"`
}

const tlockVectorsFile = "tlock-vectors.json"

// goTlockVectors builds the Go side of the vectors deterministically.
func goTlockVectors(t *testing.T) tlockVectors {
	var v tlockVectors
	v.Note = "Go side: go test -run TestTlockVectors -update; JS side: node gen_tlock.mjs (see README)"
	b := newTestBeacon()
	const testRound = 20000000
	sig := b.signature(t, testRound)
	sigB, pubB := sig.Bytes(), b.pub.Bytes()
	v.Keys = []tlockKey{
		{Name: "quicknet", PublicKey: quicknetPubHex, Round: quicknetRound, Signature: quicknetSigHex},
		{Name: "test", MasterSecret: hex.EncodeToString(b.secret.FillBytes(make([]byte, 32))),
			PublicKey: hex.EncodeToString(pubB[:]), Round: testRound, Signature: hex.EncodeToString(sigB[:])},
	}
	alice := newSubkeySigner(t, "//Alice").PublicKey()
	uids, values := []chain.UID{0, 1, 2}, []uint16{0, 32768, 65535}
	payload := weightsTlockPayload(alice, uids, values, 4062)
	v.Payload.Hotkey = hex.EncodeToString(alice[:])
	v.Payload.UIDs, v.Payload.Values, v.Payload.VersionKey = []uint16{0, 1, 2}, values, 4062
	v.Payload.SCALE = hex.EncodeToString(payload)
	for _, k := range v.Keys {
		var pub bls.G2Affine
		if _, err := pub.SetBytes(unhex(t, k.PublicKey)); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct{ name, plain string }{{"payload", v.Payload.SCALE}, {"empty", ""}} {
			ct, err := tlockEncrypt(&pub, k.Round, unhex(t, c.plain), &detRand{seed: k.Name + c.name})
			if err != nil {
				t.Fatal(err)
			}
			v.Go = append(v.Go, tlockCase{Name: k.Name + "/" + c.name, Key: k.Name, Plaintext: c.plain, Ciphertext: hex.EncodeToString(ct)})
		}
	}
	return v
}

func TestTlockVectors(t *testing.T) {
	path := filepath.Join("testdata", tlockVectorsFile)
	want := goTlockVectors(t)
	raw, err := os.ReadFile(path)
	if err != nil && !*update {
		t.Fatal(err)
	}
	var got tlockVectors
	if err == nil {
		if err := json.Unmarshal(raw, &got); err != nil {
			t.Fatal(err)
		}
	}
	if *update {
		want.JSPackage, want.JS, want.JSDecryptsGo = got.JSPackage, got.JS, got.JSDecryptsGo
		out, _ := json.MarshalIndent(want, "", "  ")
		if err := os.WriteFile(path, append(out, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		got = want
	}
	// The Go side is reproducible.
	wantGo, _ := json.Marshal(want.Go)
	gotGo, _ := json.Marshal(got.Go)
	if !bytes.Equal(wantGo, gotGo) {
		t.Errorf("%s: Go ciphertexts differ from this code's (rerun with -update and gen_tlock.mjs)", path)
	}
	keys := map[string]tlockKey{}
	for _, k := range got.Keys {
		keys[k.Name] = k
	}
	// Go opens the tle crate's ciphertexts.
	if len(got.JS) == 0 {
		t.Fatalf("%s has no JS ciphertexts: run gen_tlock.mjs", path)
	}
	for _, c := range got.JS {
		sig := g1FromHex(t, keys[c.Key].Signature)
		pt, err := tlockDecrypt(unhex(t, c.Ciphertext), &sig)
		if err != nil || hex.EncodeToString(pt) != c.Plaintext {
			t.Errorf("js %s: decrypt = %x, %v; want %s", c.Name, pt, err, c.Plaintext)
		}
	}
	// The tle crate opened Go's.
	opened := map[string]tlockDecryption{}
	for _, d := range got.JSDecryptsGo {
		opened[d.Name] = d
	}
	for _, c := range want.Go {
		d, ok := opened[c.Name]
		sum := sha256.Sum256(unhex(t, c.Ciphertext))
		if !ok || d.CTSHA256 != hex.EncodeToString(sum[:]) || d.Error != "" || d.Plaintext != c.Plaintext {
			t.Errorf("go %s: the JS decryption = %+v, want plaintext %q", c.Name, d, c.Plaintext)
		}
	}
}

// TestWeightsTlockPayload checks the SCALE encoding by hand: compact(32) hotkey, compact(3)
// u16s, compact(3) u16s, u64 little-endian.
func TestWeightsTlockPayload(t *testing.T) {
	var hk [32]byte
	for i := range hk {
		hk[i] = byte(i)
	}
	got := weightsTlockPayload(hk, []chain.UID{0, 1, 2}, []uint16{0, 32768, 65535}, 4062)
	want := "80" + hex.EncodeToString(hk[:]) + "0c" + "000001000200" + "0c" + "00000080ffff" + "de0f000000000000"
	if hex.EncodeToString(got) != want {
		t.Errorf("weightsTlockPayload = %x\nwant                  %s", got, want)
	}
}
