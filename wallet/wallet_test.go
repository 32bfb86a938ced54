package wallet

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pretrain/pretrain/chain"
)

// A Keypair signs chain extrinsics.
var _ chain.Signer = (*Keypair)(nil)

type vectorFile struct {
	NaClKeyfiles []struct {
		File, Password, Plaintext string
	} `json:"nacl_keyfiles"`
	KeypairVectors []struct {
		Mnemonic    string            `json:"mnemonic"`
		URI         string            `json:"uri"`
		Seed        string            `json:"secretSeed_mini_secret"`
		PrivateKey  string            `json:"privateKey_64_sp_core_to_raw_vec"`
		PublicKey   string            `json:"publicKey"`
		SS58        string            `json:"ss58Address"`
		Derivations map[string]string `json:"derivations"`
	} `json:"keypair_vectors"`
}

func loadVectors(t *testing.T) vectorFile {
	t.Helper()
	data, err := os.ReadFile("testdata/wallet-vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v vectorFile
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.TrimPrefix(s, "0x"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestMnemonicVectors checks mnemonic → seed → private key → public key → SS58 against
// btwallet's test vectors (re-derived with @polkadot/util-crypto).
func TestMnemonicVectors(t *testing.T) {
	v := loadVectors(t)
	n := 0
	for _, kv := range v.KeypairVectors {
		if kv.Mnemonic == "" {
			continue
		}
		n++
		t.Run(kv.SS58, func(t *testing.T) {
			k, err := FromMnemonic(kv.Mnemonic)
			if err != nil {
				t.Fatal(err)
			}
			if got := hex0x(k.seed); got != kv.Seed {
				t.Errorf("seed = %s, want %s", got, kv.Seed)
			}
			if kv.PrivateKey != "" {
				if got := hex0x(k.priv); got != kv.PrivateKey {
					t.Errorf("private key = %s, want %s", got, kv.PrivateKey)
				}
				// The 64-byte private key alone must give the same public key.
				kp, err := FromPrivateKey(mustHex(t, kv.PrivateKey))
				if err != nil {
					t.Fatal(err)
				}
				if kp.SS58() != kv.SS58 {
					t.Errorf("FromPrivateKey SS58 = %s, want %s", kp.SS58(), kv.SS58)
				}
			}
			if got := hex0x(k.pub[:]); got != kv.PublicKey {
				t.Errorf("public key = %s, want %s", got, kv.PublicKey)
			}
			if k.SS58() != kv.SS58 {
				t.Errorf("SS58 = %s, want %s", k.SS58(), kv.SS58)
			}
			ks, err := FromSeed(mustHex(t, kv.Seed))
			if err != nil {
				t.Fatal(err)
			}
			if ks.SS58() != kv.SS58 {
				t.Errorf("FromSeed SS58 = %s, want %s", ks.SS58(), kv.SS58)
			}
		})
	}
	if n < 2 {
		t.Fatalf("only %d mnemonic vectors", n)
	}
}

func TestURIVectors(t *testing.T) {
	v := loadVectors(t)
	cases := map[string]string{}
	for _, kv := range v.KeypairVectors {
		for uri, want := range kv.Derivations {
			cases[strings.ReplaceAll(uri, "<mnemonic>", kv.Mnemonic)] = want
		}
		if kv.URI != "" {
			cases[kv.URI] = kv.SS58
		}
	}
	if len(cases) < 6 {
		t.Fatalf("only %d uri vectors", len(cases))
	}
	for uri, want := range cases {
		t.Run(uri, func(t *testing.T) {
			k, err := FromURI(uri)
			if err != nil {
				t.Fatal(err)
			}
			if k.SS58() != want {
				t.Errorf("FromURI(%q) = %s, want %s", uri, k.SS58(), want)
			}
		})
	}
}

func TestSS58(t *testing.T) {
	alice := "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"
	pub, err := SS58Decode(alice)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := hex.EncodeToString(pub[:]), "d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d"; got != want {
		t.Errorf("SS58Decode(alice) = %s, want %s", got, want)
	}
	if got := SS58Encode(pub); got != alice {
		t.Errorf("SS58Encode = %s, want %s", got, alice)
	}
	bad := []struct{ name, addr string }{
		{"empty", ""},
		{"checksum", alice[:len(alice)-1] + "Z"},
		{"prefix 0 (polkadot)", "15oF4uVJwmo4TdGW7VfQxNLavjCXviqxT9S1MgbjMNHr6Sp5"},
		{"not base58", "0OIl"},
		{"short", "5Grwva"},
		{"long", strings.Repeat("5", 100)},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			if _, err := SS58Decode(c.addr); err == nil {
				t.Errorf("SS58Decode(%q) succeeded, want error", c.addr)
			}
		})
	}
}

// TestVerifyPolkadotJS verifies //Alice signatures made by @polkadot/keyring, and our own
// signatures over the same payloads.
func TestVerifyPolkadotJS(t *testing.T) {
	data, err := os.ReadFile("testdata/polkadotjs-alice-signatures.json")
	if err != nil {
		t.Fatal(err)
	}
	var vs []struct {
		Method       string `json:"method"`
		Pub          string `json:"signer_pubkey"`
		Payload      string `json:"signing_payload_hex"`
		Signature    string `json:"signature_hex"`
		PayloadHashd bool   `json:"signing_payload_hashed"`
	}
	if err := json.Unmarshal(data, &vs); err != nil {
		t.Fatal(err)
	}
	alice, err := FromURI("//Alice")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vs {
		t.Run(v.Method, func(t *testing.T) {
			var pub [32]byte
			copy(pub[:], mustHex(t, v.Pub))
			if pub != alice.PublicKey() {
				t.Fatalf("signer %x is not //Alice %x", pub, alice.PublicKey())
			}
			payload, sig := mustHex(t, v.Payload), mustHex(t, v.Signature)
			if !Verify(pub, payload, sig) {
				t.Error("polkadot.js signature does not verify")
			}
			tampered := append([]byte{}, payload...)
			tampered[0] ^= 1
			if Verify(pub, tampered, sig) {
				t.Error("signature verifies over a tampered payload")
			}
			own, err := alice.Sign(payload)
			if err != nil {
				t.Fatal(err)
			}
			if !Verify(pub, payload, own) {
				t.Error("own signature does not verify")
			}
		})
	}
}

func TestParseKeyfile(t *testing.T) {
	const (
		phrase = "old leopard transfer rib spatial phone calm indicate online fire caution review"
		addr   = "5HDvhV6WDCjCKyrXqGQSDYqQAzkzabNhctmiDYEqgBC66BsX"
		seed   = "0xda3cf5b1e9144931a0f0db65664aab662673b099415a7f8121b7245fb0be4143"
		priv   = "0x1f1995bdf3a17b60626a26cfe6f564b337d46056b7a1281b64c649d592ccda0a9cffd34d9fb01cae1fba61aeed184c817442a2186d5172416729a4b54dd4b84e"
		other  = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"
	)
	cases := []struct {
		name, json string
		want       string // SS58, "" = error
		secret     bool
	}{
		{"phrase first", `{"secretPhrase":"` + phrase + `","secretSeed":null,"ss58Address":"` + other + `"}`, addr, true},
		{"seed", `{"accountId":"0x00","secretSeed":"` + seed + `"}`, addr, true},
		{"private key", `{"privateKey":"` + priv + `"}`, addr, true},
		{"public only", `{"ss58Address":"` + addr + `"}`, addr, false},
		{"python json.dumps with nulls", `{"accountId": null, "publicKey": null, "secretPhrase": null, "secretSeed": "` + seed + `", "ss58Address": null}`, addr, true},
		{"empty", `{}`, "", false},
		{"bad seed length", `{"secretSeed":"0x1234"}`, "", false},
		{"bad hex", `{"secretSeed":"0x` + strings.Repeat("zz", 32) + `"}`, "", false},
		{"bad mnemonic", `{"secretPhrase":"old leopard transfer"}`, "", false},
		{"number field", `{"secretSeed":5}`, "", false},
		{"not json", `hello`, "", false},
		{"encrypted", "$NACL" + strings.Repeat("x", 60), "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			k, err := ParseKeyfile([]byte(c.json))
			if c.want == "" {
				if err == nil {
					t.Fatalf("ParseKeyfile = %s, want error", k)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if k.SS58() != c.want || k.HasSecret() != c.secret {
				t.Errorf("ParseKeyfile = %s (secret %v), want %s (secret %v)", k, k.HasSecret(), c.want, c.secret)
			}
		})
	}
}

func TestMarshalKeyfileRoundTrip(t *testing.T) {
	k, err := FromMnemonic("hotel forest jar hover kite book view eight stuff angle legend defense")
	if err != nil {
		t.Fatal(err)
	}
	for _, public := range []bool{false, true} {
		data := MarshalKeyfile(k, public)
		back, err := ParseKeyfile(data)
		if err != nil {
			t.Fatal(err)
		}
		if back.SS58() != k.SS58() || back.HasSecret() == public {
			t.Errorf("round trip (public %v) = %s secret %v", public, back, back.HasSecret())
		}
		if public && (bytes.Contains(data, []byte("secret")) || bytes.Contains(data, []byte("private"))) {
			t.Errorf("public keyfile holds secret fields: %s", data)
		}
	}
}

// TestNoSecretsInOutput checks that formatting or logging a Keypair shows only its address.
func TestNoSecretsInOutput(t *testing.T) {
	k, err := FromMnemonic("old leopard transfer rib spatial phone calm indicate online fire caution review")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "key", k)
	outs := []string{fmt.Sprint(k), fmt.Sprintf("%v %+v %#v %s", k, k, k, k), buf.String(), fmt.Sprint(*k)}
	for _, out := range outs {
		for _, secret := range []string{"leopard", "da3cf5b1", "1f1995bd", "9cffd34d"} {
			if strings.Contains(strings.ToLower(out), secret) {
				t.Errorf("output %q leaks %q", out, secret)
			}
		}
	}
}

func TestNaClFixtures(t *testing.T) {
	if testing.Short() {
		t.Skip("argon2 with 512 MiB takes seconds")
	}
	v := loadVectors(t)
	// The first file opens with its password; the second must refuse a wrong one.
	ok := v.NaClKeyfiles[0]
	data, err := os.ReadFile(filepath.Join("testdata", filepath.Base(ok.File)))
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecryptNaCl(data, ok.Password)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != ok.Plaintext {
		t.Errorf("DecryptNaCl = %q, want %q", got, ok.Plaintext)
	}
	bad := v.NaClKeyfiles[1]
	data, err = os.ReadFile(filepath.Join("testdata", filepath.Base(bad.File)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := DecryptNaCl(data, bad.Password+"x"); err == nil {
		t.Error("DecryptNaCl with a wrong password succeeded")
	}
}

func cheapArgon2(t *testing.T) {
	p, m := naclPasses, naclMemKiB
	naclPasses, naclMemKiB = 1, 64
	t.Cleanup(func() { naclPasses, naclMemKiB = p, m })
}

func TestCreate(t *testing.T) {
	cheapArgon2(t)
	root := t.TempDir()
	w := Wallet{Root: root, Name: "miner", Hotkey: "h1"}
	c, err := w.Create(CreateOptions{ColdkeyPassword: "pw"})
	if err != nil {
		t.Fatal(err)
	}
	p, _ := w.Paths()
	for _, f := range []string{p.Coldkey, p.ColdkeyPub, p.Hotkey, p.HotkeyPub} {
		st, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v, want 0600", f, st.Mode().Perm())
		}
	}
	if st, _ := os.Stat(filepath.Join(root, "miner")); st.Mode().Perm() != 0o700 {
		t.Errorf("wallet dir mode %v, want 0700", st.Mode().Perm())
	}
	hk, err := w.HotkeyPair()
	if err != nil {
		t.Fatal(err)
	}
	if hk.SS58() != c.Hotkey.SS58() || !hk.HasSecret() || hk.Mnemonic() != c.Hotkey.Mnemonic() {
		t.Errorf("hotkey reads back as %s, want %s", hk, c.Hotkey)
	}
	ck, err := w.ColdkeyPub()
	if err != nil {
		t.Fatal(err)
	}
	if ck.SS58() != c.Coldkey.SS58() || ck.HasSecret() {
		t.Errorf("coldkeypub reads back as %s secret %v", ck, ck.HasSecret())
	}
	if _, err := w.Coldkey(""); !errors.Is(err, ErrEncrypted) {
		t.Errorf("Coldkey(\"\") error = %v, want ErrEncrypted", err)
	}
	if _, err := w.Coldkey("wrong"); err == nil {
		t.Error("Coldkey(wrong password) succeeded")
	}
	cold, err := w.Coldkey("pw")
	if err != nil {
		t.Fatal(err)
	}
	if cold.SS58() != c.Coldkey.SS58() || !cold.HasSecret() {
		t.Errorf("coldkey reads back as %s", cold)
	}
	if _, err := w.Create(CreateOptions{}); !errors.Is(err, ErrExists) {
		t.Errorf("second Create error = %v, want ErrExists", err)
	}
	// A second hotkey keeps the coldkey.
	w2 := w
	w2.Hotkey = "h2"
	c2, err := w2.Create(CreateOptions{HotkeyOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if c2.Coldkey != nil || c2.Hotkey.SS58() == c.Hotkey.SS58() {
		t.Errorf("hotkey-only create: coldkey %v, hotkey %s", c2.Coldkey, c2.Hotkey)
	}
	if ck2, _ := w2.ColdkeyPub(); ck2.SS58() != c.Coldkey.SS58() {
		t.Errorf("coldkey changed by hotkey-only create")
	}
	c3, err := w.Create(CreateOptions{Overwrite: true})
	if err != nil {
		t.Fatal(err)
	}
	if hk, _ := w.HotkeyPair(); hk.SS58() != c3.Hotkey.SS58() {
		t.Errorf("overwrite kept the old hotkey")
	}
	entries, _ := os.ReadDir(filepath.Join(root, "miner", "hotkeys"))
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp") {
			t.Errorf("temporary file left: %s", e.Name())
		}
	}
}

func TestWalletValidate(t *testing.T) {
	for _, name := range []string{"..", "a/b", `a\b`, "."} {
		w := Wallet{Root: t.TempDir(), Name: name}
		if _, err := w.Create(CreateOptions{}); err == nil {
			t.Errorf("Create with name %q succeeded", name)
		}
	}
}

func TestNaClRoundTrip(t *testing.T) {
	cheapArgon2(t)
	msg := []byte(`{"secretSeed":"0x00"}`)
	enc, err := EncryptNaCl(msg, "pw")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(enc, []byte("$NACL")) || len(enc) != 5+24+16+len(msg) {
		t.Fatalf("EncryptNaCl: %d bytes, prefix %q", len(enc), enc[:5])
	}
	got, err := DecryptNaCl(enc, "pw")
	if err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("DecryptNaCl = %q, %v", got, err)
	}
	for _, bad := range [][]byte{enc[:20], []byte("$NACL"), append(append([]byte{}, enc[:len(enc)-1]...), enc[len(enc)-1]^1)} {
		if _, err := DecryptNaCl(bad, "pw"); err == nil {
			t.Errorf("DecryptNaCl(%d corrupt bytes) succeeded", len(bad))
		}
	}
}

func FuzzParseKeyfile(f *testing.F) {
	f.Add([]byte(`{"secretPhrase":"old leopard transfer rib spatial phone calm indicate online fire caution review"}`))
	f.Add([]byte(`{"secretSeed":"0xda3cf5b1e9144931a0f0db65664aab662673b099415a7f8121b7245fb0be4143"}`))
	f.Add([]byte(`{"ss58Address":"5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"}`))
	f.Add([]byte(`{"privateKey":"0x1f1995bdf3a17b60626a26cfe6f564b337d46056b7a1281b64c649d592ccda0a9cffd34d9fb01cae1fba61aeed184c817442a2186d5172416729a4b54dd4b84e"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := ParseKeyfile(data)
		if err != nil {
			return
		}
		back, err := ParseKeyfile(MarshalKeyfile(k, false))
		if err != nil || back.SS58() != k.SS58() {
			t.Fatalf("round trip of %s: %v, %v", k, back, err)
		}
	})
}

func FuzzSS58Decode(f *testing.F) {
	f.Add("5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY")
	f.Add("15oF4uVJwmo4TdGW7VfQxNLavjCXviqxT9S1MgbjMNHr6Sp5")
	f.Fuzz(func(t *testing.T, s string) {
		pub, err := SS58Decode(s)
		if err != nil {
			return
		}
		if _, err := SS58Decode(SS58Encode(pub)); err != nil {
			t.Fatalf("re-decode of %q: %v", s, err)
		}
	})
}
