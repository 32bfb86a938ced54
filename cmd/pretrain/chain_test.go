package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/pretrain/pretrain/chain"
	"github.com/pretrain/pretrain/chain/localchain"
	"github.com/pretrain/pretrain/chain/timelock"
	"github.com/pretrain/pretrain/wallet"
)

// mustCLI runs the CLI and returns its output; an error fails the test.
func mustCLI(t *testing.T, args ...string) string {
	t.Helper()
	out, _, err := runCLI(t, args...)
	if err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	return out
}

// TestWalletAndLocalChain drives the admin commands as an operator would: two wallets, a
// manual local chain, registration, stake, a commitment and blocks through an epoch.
func TestWalletAndLocalChain(t *testing.T) {
	dir := t.TempDir()
	wallets := filepath.Join(dir, "wallets")
	db := filepath.Join(dir, "chain.db")
	must := func(args ...string) string { t.Helper(); return mustCLI(t, args...) }
	for _, name := range []string{"v", "m"} {
		must("wallet", "new", "--wallet.path", wallets, "--wallet.name", name)
	}
	if _, _, err := runCLI(t, "wallet", "new", "--wallet.path", wallets, "--wallet.name", "v"); err == nil {
		t.Error("wallet new overwrote an existing wallet")
	}
	fi, err := os.Stat(filepath.Join(wallets, "v", "hotkeys", "default"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("hotkey file: %v, mode %v; want 0600", err, fi.Mode().Perm())
	}
	var show struct {
		Hotkey string `json:"hotkey"`
	}
	if err := json.Unmarshal([]byte(must("wallet", "show", "--wallet.path", wallets, "--wallet.name", "m", "--json")), &show); err != nil || !strings.HasPrefix(show.Hotkey, "5") {
		t.Fatalf("wallet show: %v %+v", err, show)
	}

	must("chain", "init", "--chain.path", db, "--manual", "--tempo", "5", "--max-validators", "1", "--weights-rate-limit", "0")
	for _, name := range []string{"v", "m"} {
		must("chain", "register", "--chain.path", db, "--wallet.path", wallets, "--wallet.name", name)
	}
	must("chain", "stake", "--chain.path", db, "--wallet.path", wallets, "--wallet.name", "v", "--amount", "10")
	const metadata = "ns:name:0123456789012345678901234567890123456789:k2oYXKqiZrucvpgengXLeM1zKwsygOuURBK7b4+PB68=:99"
	must("chain", "commitment", "--chain.path", db, "--wallet.path", wallets, "--wallet.name", "m", "--set", metadata)
	must("chain", "advance", "--chain.path", db, "--blocks", "12")
	got := must("chain", "commitment", "--chain.path", db, "--hotkey-address", show.Hotkey, "--json")
	if !strings.Contains(got, metadata) {
		t.Errorf("commitment read back = %s", got)
	}
	var mg struct {
		Hotkeys []string  `json:"Hotkeys"`
		Stake   []float64 `json:"Stake"`
	}
	out := must("chain", "metagraph", "--chain.path", db, "--json")
	if err := json.Unmarshal([]byte(out), &mg); err != nil || len(mg.Hotkeys) != 2 {
		t.Fatalf("metagraph: %v\n%s", err, out)
	}
	long := strings.Repeat("x", 129)
	if _, _, err := runCLI(t, "chain", "commitment", "--chain.path", db, "--wallet.path", wallets, "--wallet.name", "v", "--set", long); err == nil || !strings.Contains(err.Error(), "128") {
		t.Errorf("a 129-byte commitment: error %v, want the 128-byte limit", err)
	}
}

// TestChainHyperparams: chain init's flags are what chain hyperparams reads back.
func TestChainHyperparams(t *testing.T) {
	db := filepath.Join(t.TempDir(), "chain.db")
	if _, _, err := runCLI(t, "chain", "init", "--chain.path", db, "--manual", "--tempo", "12", "--weights-rate-limit", "0",
		"--weights-version", "5", "--min-allowed-weights", "2", "--max-weight-limit", "40000",
		"--commit-reveal", "off", "--reveal-period", "3"); err != nil {
		t.Fatal(err)
	}
	out, _, err := runCLI(t, "chain", "hyperparams", "--chain.path", db, "--json")
	if err != nil {
		t.Fatal(err)
	}
	want := `{"Tempo":12,"WeightsRateLimit":0,"MinAllowedWeights":2,"MaxWeightLimit":40000,"WeightsVersion":5,"CommitRevealEnabled":false,"RevealPeriodEpochs":3}`
	var compact bytes.Buffer
	if err := json.Compact(&compact, []byte(out)); err != nil || compact.String() != want {
		t.Errorf("chain hyperparams = %s, want %s", out, want)
	}
	if _, _, err := runCLI(t, "chain", "init", "--chain.path", db, "--netuid", "3", "--commit-reveal", "maybe"); err == nil {
		t.Error("--commit-reveal maybe accepted")
	}
}

// TestChainCommits: on a manual chain with commit-reveal on (the default), a validator's
// weights are a pending commit until its reveal, then revealed; chain commits shows both.
// The commit at block 11 (tempo 10, netuid 9) is revealed at block 17 (see localchain's
// TestCommitRevealTwoValidators).
func TestChainCommits(t *testing.T) {
	db := filepath.Join(t.TempDir(), "chain.db")
	if _, _, err := runCLI(t, "chain", "init", "--chain.path", db, "--manual", "--tempo", "10", "--weights-rate-limit", "0"); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	lc, err := localchain.Open(ctx, localchain.Config{Path: db})
	if err != nil {
		t.Fatal(err)
	}
	defer lc.Close()
	v, m := mustURI(t, "//V"), mustURI(t, "//M")
	for _, k := range []*wallet.Keypair{v, m} {
		if _, err := lc.Register(ctx, 9, k.SS58(), v.SS58()); err != nil {
			t.Fatal(err)
		}
	}
	if err := lc.AddStake(ctx, v.SS58(), v.SS58(), 1e9); err != nil {
		t.Fatal(err)
	}
	if _, err := lc.Advance(ctx, 11); err != nil {
		t.Fatal(err)
	}
	if err := lc.SetWeights(ctx, v, 9, []chain.UID{1}, []uint16{1}, 0); err != nil {
		t.Fatal(err)
	}
	commits := func() []chain.WeightCommit {
		out, _, err := runCLI(t, "chain", "commits", "--chain.path", db, "--hotkey-address", v.SS58(), "--json")
		if err != nil {
			t.Fatal(err)
		}
		var ws []chain.WeightCommit
		if err := json.Unmarshal([]byte(out), &ws); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		return ws
	}
	if ws := commits(); len(ws) != 1 || ws[0].Status != chain.CommitPending || ws[0].Block != 11 {
		t.Errorf("chain commits after the commit = %+v, want one pending at 11", ws)
	}
	if _, _, err := runCLI(t, "chain", "advance", "--chain.path", db, "--blocks", "6"); err != nil {
		t.Fatal(err)
	}
	if ws := commits(); len(ws) != 1 || ws[0].Status != chain.CommitRevealed || ws[0].Resolved != 17 {
		t.Errorf("chain commits at block 17 = %+v, want revealed at 17", ws)
	}
	out, _, err := runCLI(t, "chain", "commits", "--chain.path", db, "--hotkey-address", v.SS58())
	if err != nil || !strings.Contains(out, "block 11 round 68: revealed at block 17") {
		t.Errorf("chain commits = %q, %v", out, err)
	}
}

func mustURI(t *testing.T, uri string) *wallet.Keypair {
	t.Helper()
	k, err := wallet.FromURI(uri)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestChainBeacon: the beacon command's signature verifies under its public key for its
// round (timelock.Verify, checked against drand quicknet's real pulse in chain/timelock).
func TestChainBeacon(t *testing.T) {
	db := filepath.Join(t.TempDir(), "chain.db")
	if _, _, err := runCLI(t, "chain", "init", "--chain.path", db, "--manual"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runCLI(t, "chain", "advance", "--chain.path", db, "--blocks", "3"); err != nil {
		t.Fatal(err)
	}
	var out struct {
		PublicKey string `json:"public_key"`
		Latest    uint64 `json:"latest_round"`
		Round     uint64 `json:"round"`
		Signature string `json:"signature"`
	}
	for _, args := range [][]string{nil, {"--round", "5"}} {
		raw, _, err := runCLI(t, append([]string{"chain", "beacon", "--chain.path", db, "--json"}, args...)...)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(raw), &out); err != nil {
			t.Fatal(err)
		}
		pk, _ := hex.DecodeString(out.PublicKey)
		sb, _ := hex.DecodeString(out.Signature)
		pub, err1 := timelock.ParsePublicKey(pk)
		sig, err2 := timelock.ParseSignature(sb)
		if err1 != nil || err2 != nil || !timelock.Verify(pub, out.Round, sig) {
			t.Errorf("beacon %v: %+v does not verify (%v, %v)", args, out, err1, err2)
		}
	}
	if out.Latest != 13 || out.Round != 5 {
		t.Errorf("at block 3: latest round %d, round %d; want 13 (4 per block, round 1 at block 0) and 5", out.Latest, out.Round)
	}
	if _, _, err := runCLI(t, "chain", "beacon", "--chain.path", db, "--round", "14"); err == nil {
		t.Error("an unpublished round's signature was printed")
	}
}

// TestChainHostileInput: a commitment holding terminal escapes and C1 controls is shown
// escaped, as text and as JSON; an empty file is not taken for a new chain; a stake that
// rounds to 0 rao is refused.
func TestChainHostileInput(t *testing.T) {
	dir := t.TempDir()
	wallets := filepath.Join(dir, "wallets")
	db := filepath.Join(dir, "chain.db")
	must := func(args ...string) string { t.Helper(); return mustCLI(t, args...) }
	must("wallet", "new", "--wallet.path", wallets, "--wallet.name", "m")
	must("chain", "init", "--chain.path", db, "--manual")
	must("chain", "register", "--chain.path", db, "--wallet.path", wallets, "--wallet.name", "m")
	commit := func(data string) {
		t.Helper()
		must("chain", "commitment", "--chain.path", db, "--wallet.path", wallets, "--wallet.name", "m", "--set", data)
		must("chain", "advance", "--chain.path", db, "--blocks", "101") // past the commit rate limit
	}
	isControl := func(r rune) bool { return r < 0x20 && r != '\n' || r >= 0x7f && r <= 0x9f }

	hostile := "ns:\x1b]0;pwned\x07\x1b[2J\u009b31m:x\x7f"
	commit(hostile)
	out := must("chain", "commitment", "--chain.path", db, "--wallet.path", wallets, "--wallet.name", "m")
	if strings.ContainsFunc(out, isControl) {
		t.Errorf("commitment printed raw control characters: %q", out)
	}
	_, shown, _ := strings.Cut(strings.TrimSuffix(out, "\n"), ": ")
	if got, err := strconv.Unquote(shown); err != nil || got != hostile {
		t.Errorf("commitment shown as %s, which unquotes to %q (%v), want %q", shown, got, err, hostile)
	}
	js := must("chain", "commitment", "--chain.path", db, "--wallet.path", wallets, "--wallet.name", "m", "--json")
	var rec struct{ Data string }
	if strings.ContainsFunc(js, isControl) || json.Unmarshal([]byte(js), &rec) != nil || rec.Data != hostile {
		t.Errorf("--json printed %q, data %q; want escaped controls and the data as committed", js, rec.Data)
	}

	empty := filepath.Join(dir, "empty.db")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"chain", "register", "--chain.path", empty, "--wallet.path", wallets, "--wallet.name", "m"},
		{"chain", "init", "--chain.path", empty},
	} {
		if _, _, err := runCLI(t, args...); err == nil || !strings.Contains(err.Error(), "empty") {
			t.Errorf("%v on an empty file: error %v, want a refusal", args[:2], err)
		}
	}
	if fi, err := os.Stat(empty); err != nil || fi.Size() != 0 {
		t.Errorf("the empty file was written to (%v)", err)
	}

	if _, _, err := runCLI(t, "chain", "stake", "--chain.path", db, "--wallet.path", wallets, "--wallet.name", "m", "--amount", "4e-10"); !errors.Is(err, errUsage) {
		t.Errorf("stake of 4e-10 TAO (0 rao): error %v, want a usage error", err)
	}
}

// TestPrintCommitmentNotUTF8: a commitment from the real chain may hold any bytes; those
// that are not UTF-8 are shown escaped, not replaced, and refused as JSON.
func TestPrintCommitmentNotUTF8(t *testing.T) {
	cm := chain.Commitment{Data: "ns:\xff\xfe:x", Block: 7}
	var out bytes.Buffer
	if err := printCommitment(&out, "5Hot", cm, false); err != nil || out.String() != `5Hot at block 7: "ns:\xff\xfe:x"`+"\n" {
		t.Errorf("printCommitment = %q, %v; want the bytes escaped", out.String(), err)
	}
	out.Reset()
	if err := printCommitment(&out, "5Hot", cm, true); err == nil || !strings.Contains(err.Error(), `\xff\xfe`) || out.Len() != 0 {
		t.Errorf("printCommitment as JSON = %q, %v; want a refusal showing the bytes", out.String(), err)
	}
}

// TestDisplayText: printable text is shown as is; anything else is quoted so that
// strconv.Unquote gives back the exact bytes, with no control character left.
func TestDisplayText(t *testing.T) {
	for _, s := range []string{"ns/name:abc", "héllo 漢字", "", "a\tb", "\x1b[31m", "\u009b", "\xff", "a\u200bb", "\u2028"} {
		got := displayText(s)
		printable := utf8.ValidString(s) && !strings.ContainsFunc(s, func(r rune) bool { return !unicode.IsPrint(r) })
		if printable && got != s {
			t.Errorf("displayText(%q) = %q, want it unchanged", s, got)
		}
		if !printable {
			if back, err := strconv.Unquote(got); err != nil || back != s || strings.ContainsFunc(got, func(r rune) bool { return !unicode.IsPrint(r) }) {
				t.Errorf("displayText(%q) = %q: unquotes to %q (%v)", s, got, back, err)
			}
		}
	}
}

// TestOneLineCommandsJSON: the commands whose human output is one line print the same facts
// as one JSON document with --json.
func TestOneLineCommandsJSON(t *testing.T) {
	dir := t.TempDir()
	db, wallets := filepath.Join(dir, "chain.db"), filepath.Join(dir, "wallets")
	doc := func(args ...string) map[string]any {
		t.Helper()
		out, _, err := runCLI(t, append(args, "--json")...)
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		var v map[string]any
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Fatalf("%v: %v in %q", args, err, out)
		}
		return v
	}
	if v := doc("chain", "init", "--chain.path", db, "--manual", "--netuid", "3"); v["head"] != 0.0 || fmt.Sprint(v["subnets"]) != "[3]" {
		t.Errorf("chain init: %v", v)
	}
	if _, _, err := runCLI(t, "wallet", "new", "--wallet.path", wallets, "--wallet.name", "a"); err != nil {
		t.Fatal(err)
	}
	w := []string{"--chain.path", db, "--wallet.path", wallets, "--wallet.name", "a"}
	if v := doc(append([]string{"chain", "register", "--netuid", "3"}, w...)...); v["uid"] != 0.0 || v["netuid"] != 3.0 {
		t.Errorf("chain register: %v", v)
	}
	if v := doc(append([]string{"chain", "stake", "--amount", "1.5"}, w...)...); v["added_rao"] != 1.5e9 {
		t.Errorf("chain stake: %v", v)
	}
	if v := doc("chain", "advance", "--chain.path", db, "--blocks", "4"); v["head"] != 4.0 {
		t.Errorf("chain advance: %v", v)
	}
	if v := doc("model", "init", "--preset", "gpt2-tiny", "--out", filepath.Join(dir, "m")); v["params"] != 3382080.0 {
		t.Errorf("model init: %v (gpt2-tiny: 50257·64 + 1024·64 + two blocks of 49,984 + 128 for the last layer norm = 3,382,080)", v)
	}
}
