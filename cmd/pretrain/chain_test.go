package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/pretrain/pretrain/chain"
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
	got := must("chain", "commitment", "--chain.path", db, "--hotkey", show.Hotkey, "--json")
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
