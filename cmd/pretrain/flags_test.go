package main

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/alecthomas/kong"
)

// referenceNames are the flags the reference validator defines without a dotted group; they
// keep its underscores so that its operators' command lines work.
var referenceNames = []string{"model_dir", "sample_min", "updated_models_limit", "dont_set_weights",
	"chain_update_cadence", "scan_top_model_cadence"}

// retiredNames were spelled one way for two concepts (or two ways for one); none may return
// as a visible flag (hidden, an old spelling may stay one release).
var retiredNames = []string{"endpoint", "data", "hotkey", "hf-token", "cache-dir", "tokens-file"}

// synonyms are spellings of one concept: at most one of each group may be a flag.
var synonyms = [][]string{
	{"pages", "num-pages", "num_pages"},
	{"batch", "batch-size", "batch_size"},
	{"seq-len", "sequence-length", "seqlen", "max-len"},
	{"out", "output", "out-dir"},
	{"tokenizer", "tokenizer-name", "tokenizer-dir"},
	{"hub.token", "hf-token", "hf_token", "token"},
}

type flagUse struct {
	cmd  string
	flag *kong.Flag
}

// allFlags walks the command tree as --help shows it: every command's own flags, plus the
// global ones once.
func allFlags(t *testing.T, grammar any) (map[string][]flagUse, []*kong.Node) {
	t.Helper()
	p, err := kong.New(grammar, kong.Name("pretrain"), kong.Vars{"version": "test", "presets": "p"})
	if err != nil {
		t.Fatal(err)
	}
	uses := map[string][]flagUse{}
	var cmds []*kong.Node
	var walk func(n *kong.Node)
	walk = func(n *kong.Node) {
		if n.Type == kong.CommandNode || n == p.Model.Node {
			cmds = append(cmds, n)
		}
		for _, f := range n.Flags {
			uses[f.Name] = append(uses[f.Name], flagUse{n.FullPath(), f})
		}
		for _, ch := range n.Children {
			walk(ch)
		}
	}
	walk(p.Model.Node)
	return uses, cmds
}

// concept is the first sentence of a flag's help: what the flag is, the same wherever the
// flag appears (the sentences after it may say what it does in one command).
func concept(help string) string {
	if i := strings.Index(help, ". "); i >= 0 {
		return help[:i+1]
	}
	return help
}

var normalize = strings.NewReplacer("-", "", "_", "", ".", "")

// flagSchemeFaults lists every flag spelled two ways for one concept, or spelled one way
// with two meanings (or two types), and every name against the naming rules.
func flagSchemeFaults(uses map[string][]flagUse) []string {
	var faults []string
	fault := func(format string, args ...any) { faults = append(faults, fmt.Sprintf(format, args...)) }
	names := make([]string, 0, len(uses))
	for n := range uses {
		names = append(names, n)
	}
	sort.Strings(names)
	spelled := map[string]string{} // normalized spelling -> flag name
	claim := func(spelling, owner string) {
		k := normalize.Replace(strings.ToLower(spelling))
		if prev, ok := spelled[k]; ok && prev != owner {
			fault("--%s and --%s: one spelling written two ways", prev, spelling)
		}
		spelled[k] = owner
	}
	for _, name := range names {
		us := uses[name]
		claim(name, name)
		types, meanings := map[string]string{}, map[string]string{} // -> first command
		for _, u := range us {
			// A repeatable flag ([]T) is the same concept as a single one (T).
			typ := strings.TrimPrefix(u.flag.Target.Type().String(), "[]")
			if _, ok := types[typ]; !ok {
				types[typ] = u.cmd
			}
			if _, ok := meanings[concept(u.flag.Help)]; !ok {
				meanings[concept(u.flag.Help)] = u.cmd
			}
			for _, a := range u.flag.Aliases {
				claim(a, name)
				if slices.Contains(retiredNames, a) {
					fault("--%s is a retired spelling, here an alias of --%s (%v)", a, name, u.cmd)
				}
			}
		}
		if len(types) > 1 {
			fault("--%s has %d types: %v", name, len(types), types)
		}
		if len(meanings) > 1 {
			fault("--%s means %d things: %v", name, len(meanings), meanings)
		}
		visible := slices.ContainsFunc(us, func(u flagUse) bool { return !u.flag.Hidden })
		switch {
		case visible && slices.Contains(retiredNames, name):
			fault("--%s is a retired spelling (%v)", name, us[0].cmd)
		case strings.Contains(name, "_") && !strings.Contains(name, ".") && !slices.Contains(referenceNames, name):
			fault("--%s: underscores belong to dotted (bittensor) names and the reference's own flags; use hyphens", name)
		case strings.Contains(name, "-") && strings.Contains(name, "."):
			fault("--%s: a dotted (bittensor) name joins its words with underscores", name)
		case name != strings.ToLower(name):
			fault("--%s: flags are lower case", name)
		}
	}
	for _, group := range synonyms {
		var present []string
		for _, s := range group {
			if slices.ContainsFunc(uses[s], func(u flagUse) bool { return !u.flag.Hidden }) {
				present = append(present, s)
			}
		}
		if len(present) > 1 {
			fault("one concept, several spellings: %v", present)
		}
	}
	return faults
}

// TestFlagScheme fails on a flag spelled two ways for one concept, or one spelling with two
// meanings, across every command (README "Flags").
func TestFlagScheme(t *testing.T) {
	uses, _ := allFlags(t, &cli{})
	for _, f := range flagSchemeFaults(uses) {
		t.Error(f)
	}
}

// TestHelpOfEveryCommand runs --help for every command, as a user would, and checks that it
// succeeds and lists each of the command's visible flags.
func TestHelpOfEveryCommand(t *testing.T) {
	_, cmds := allFlags(t, &cli{})
	for _, n := range cmds {
		path := strings.Fields(n.FullPath())[1:] // without "pretrain"
		out, _, err := runCLI(t, append(path, "--help")...)
		if err != nil {
			t.Errorf("pretrain %s --help: %v", strings.Join(path, " "), err)
			continue
		}
		for _, f := range n.Flags {
			if !f.Hidden && !strings.Contains(out, "--"+f.Name) {
				t.Errorf("pretrain %s --help does not list --%s", strings.Join(path, " "), f.Name)
			}
		}
		if strings.Contains(out, "${") {
			t.Errorf("pretrain %s --help has an uninterpolated variable:\n%s", strings.Join(path, " "), out)
		}
	}
}

// TestFlagSchemeCatches checks that the scheme's check finds the faults it exists for in a
// command tree that has them.
func TestFlagSchemeCatches(t *testing.T) {
	var bad struct {
		A struct {
			Endpoint string `name:"data.endpoint" help:"Datasets-server base URL. Local ones work."`
			Seed     string `help:"Seed."`
		} `cmd:""`
		B struct {
			Endpoint string `name:"data.endpoint" help:"Model hub base URL."`
			Seed     uint64 `help:"Seed."`
			Pages    int    `help:"Pages to draw."`
			NumPages int    `name:"num-pages" help:"Pages to draw."`
			CacheDir string `name:"cache_dir" help:"Cache."`
			HubTok   string `name:"hub.api-token" help:"Token."`
			Token    string `name:"hub.token" help:"Token."`
			Endpt    string `name:"endpoint" help:"Hub."`
			Hotkey   string `name:"hotkey-address" aliases:"hotkey" help:"Hotkey address."`
			DataEP   string `name:"dataendpoint" help:"Datasets-server base URL."`
		} `cmd:""`
	}
	uses, _ := allFlags(t, &bad)
	faults := strings.Join(flagSchemeFaults(uses), "\n")
	for _, want := range []string{
		"--data.endpoint means 2 things", "--seed has 2 types", "[pages num-pages]",
		"--cache_dir: underscores", "--hub.api-token: a dotted", "--endpoint is a retired", "--hotkey is a retired spelling, here an alias",
		"--data.endpoint and --dataendpoint: one spelling",
	} {
		if !strings.Contains(faults, want) {
			t.Errorf("faults lack %q:\n%s", want, faults)
		}
	}
}

func TestSeedFlag(t *testing.T) {
	var s seedFlag
	big := "115792089237316195423570985008687907853269984665640564039457584007913129639935" // 2^256-1
	if err := s.UnmarshalText([]byte(big)); err != nil || s.v.String() != big {
		t.Fatalf("2^256-1: %v %v", err, s.v)
	}
	if _, err := s.uint64("--seed"); err == nil {
		t.Error("a 256-bit seed fits a uint64?")
	}
	for _, bad := range []string{"", "0x10", "1e3", "seven", "1.5"} {
		if err := s.UnmarshalText([]byte(bad)); err == nil {
			t.Errorf("%q: want an error", bad)
		}
	}
	if err := s.UnmarshalText([]byte("18446744073709551615")); err != nil {
		t.Fatal(err)
	}
	if v, err := s.uint64("--seed"); err != nil || v != 1<<64-1 {
		t.Errorf("2^64-1: %d %v", v, err)
	}
}
