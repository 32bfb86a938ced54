package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alecthomas/kong"
)

func runCLI(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = run(t.Context(), args, strings.NewReader(""), &out, &errOut)
	return out.String(), errOut.String(), err
}

func TestHelpListsCommands(t *testing.T) {
	out, _, err := runCLI(t, "--help")
	if err != nil {
		t.Fatalf("--help: %v", err)
	}
	for _, want := range []string{"rank", "--log.level", "--log.format"} {
		if !strings.Contains(out, want) {
			t.Errorf("--help output lacks %q:\n%s", want, out)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{{"--bogus"}, {"rank"}, {"rank", "--input", "/nonexistent"}, {"--log.level", "loud", "rank"}} {
		if _, _, err := runCLI(t, args...); !errors.Is(err, errUsage) {
			t.Errorf("%v: error %v, want a usage error", args, err)
		}
	}
}

func TestRank(t *testing.T) {
	in := filepath.Join(t.TempDir(), "step.json")
	step := `{"competition_id": 2, "current_block": 2001, "models": [
		{"uid": 100, "block": 1000, "score": 0.5}, {"uid": 50, "block": 2000, "score": 0.5},
		{"uid": 75, "block": 2001, "score": 0.499}]}`
	if err := os.WriteFile(in, []byte(step), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _, err := runCLI(t, "rank", "--input", in)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Competitive []int              `json:"competitive_uids"`
		WinRates    map[string]float64 `json:"win_rates"`
		Weights     map[string]float64 `json:"weights"`
		Top         int                `json:"top_uid"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	// B3 at block 2001 uses LinearDecay(0.005, 0.0005, 50400): uid 75's 0.499 does not beat
	// uid 100's 0.5*(1-eps), so 100 wins; 50 is a clone of 100.
	if len(got.Competitive) != 2 || got.Competitive[0] != 100 || got.Competitive[1] != 75 ||
		got.WinRates["100"] != 1 || got.WinRates["75"] != 0 || got.Top != 100 || got.Weights["100"] < 0.99 {
		t.Errorf("rank output = %s", out)
	}
}

// TestVersion: --version prints the build's module version and Go toolchain, and exits 0.
func TestVersion(t *testing.T) {
	out, _, err := runCLI(t, "--version")
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(out)
	if len(f) < 3 || f[0] != "pretrain" || !strings.HasPrefix(f[len(f)-1], "go1.") {
		t.Errorf("--version printed %q, want \"pretrain VERSION [REVISION] goX.Y\"", out)
	}
}

// TestSkipEmptyEnv: a flag takes the first non-empty of its environment variables, and a
// value from --config or the command line still wins over the environment.
func TestSkipEmptyEnv(t *testing.T) {
	t.Setenv("PRETRAIN_TEST_A", "")
	t.Setenv("PRETRAIN_TEST_B", "from-env")
	cfg := filepath.Join(t.TempDir(), "c.json")
	if err := os.WriteFile(cfg, []byte(`{"token": "from-config"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "from-env"},
		{[]string{"--config", cfg}, "from-config"},
		{[]string{"--config", cfg, "--token", "from-flag"}, "from-flag"},
	} {
		var g struct {
			Config kong.ConfigFlag
			Token  string `env:"PRETRAIN_TEST_A,PRETRAIN_TEST_B"`
		}
		p, err := kong.New(&g, kong.Configuration(kong.JSON), kong.Resolvers(skipEmptyEnv))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Parse(tc.args); err != nil {
			t.Fatal(err)
		}
		if g.Token != tc.want {
			t.Errorf("%v: token %q, want %q", tc.args, g.Token, tc.want)
		}
	}
}
