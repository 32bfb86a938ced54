package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestReadmeWalkthrough runs the README's "Try it" commands as a new user would, from a fresh
// build at the repository's root, and checks every output the README states under "What it
// prints": each `"key": value` it quotes for a command must be in that command's JSON output,
// numbers within the noise the README states and strings (ending in "…") by their beginning.
func TestReadmeWalkthrough(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and trains a model for a minute; the normal run covers it")
	}
	root := repoRoot(t)
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	section := readmeSection(t, string(readme), "## Try it")
	cmds := shellCommands(fencedBlock(t, section, "sh"))
	expect := walkthroughExpectations(t, section)

	// The README's fixed port may be taken where the test runs: use a free one.
	port := freePort(t)
	// The binary goes to a temporary directory, not over a ./pretrain the developer built.
	bin := filepath.Join(t.TempDir(), "pretrain")
	var script strings.Builder
	script.WriteString("set -euo pipefail\n")
	for i, c := range cmds {
		c = strings.ReplaceAll(c, "127.0.0.1:8089", "127.0.0.1:"+port)
		c = strings.ReplaceAll(strings.ReplaceAll(c, "-o pretrain ", "-o "+bin+" "), "./pretrain ", bin+" ")
		fmt.Fprintf(&script, "echo '@@@ %d'\n%s\n", i, c)
		if strings.HasSuffix(strings.TrimSpace(c), "&") { // a server: wait until it answers
			fmt.Fprintf(&script, "for i in $(seq 100); do (echo > /dev/tcp/127.0.0.1/%s) 2>/dev/null && break; sleep 0.1; done\n", port)
		}
	}
	script.WriteString("kill $(jobs -p) 2>/dev/null || true\n")
	cmd := exec.CommandContext(t.Context(), "bash", "-c", script.String())
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "TMPDIR="+t.TempDir())
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("the walkthrough failed: %v\nstdout:\n%s\nstderr (end):\n%s", err, stdout.String(), tail(stderr.String(), 3000))
	}

	outputs := splitOutputs(stdout.String())
	for _, e := range expect {
		i := commandIndex(cmds, e.command)
		if i < 0 {
			t.Errorf("the README states output of %q, which the walkthrough does not run", e.command)
			continue
		}
		var doc any
		if err := json.Unmarshal([]byte(outputs[i]), &doc); err != nil {
			t.Errorf("%s printed no JSON document (%v):\n%s", e.command, err, outputs[i])
			continue
		}
		got, ok := findKey(doc, e.key)
		if !ok {
			t.Errorf("%s: no %q in its output:\n%s", e.command, e.key, outputs[i])
			continue
		}
		if msg := e.check(got); msg != "" {
			t.Errorf("%s: %q: %s", e.command, e.key, msg)
		}
	}
	if len(expect) < 4 {
		t.Errorf("only %d stated outputs found under \"What it prints\"", len(expect))
	}
}

// readmeSection is the text from the heading to the next heading of its level.
func readmeSection(t *testing.T, readme, heading string) string {
	t.Helper()
	i := strings.Index(readme, "\n"+heading)
	if i < 0 {
		t.Fatalf("README has no %q section", heading)
	}
	s := readme[i+1:]
	if j := strings.Index(s[len(heading):], "\n## "); j >= 0 {
		s = s[:len(heading)+j]
	}
	return s
}

// fencedBlock is the first ```lang block of s.
func fencedBlock(t *testing.T, s, lang string) string {
	t.Helper()
	i := strings.Index(s, "```"+lang+"\n")
	if i < 0 {
		t.Fatalf("no ```%s block", lang)
	}
	s = s[i+len(lang)+4:]
	j := strings.Index(s, "```")
	if j < 0 {
		t.Fatal("unterminated block")
	}
	return s[:j]
}

// shellCommands splits a shell block into commands: continuation lines joined, comments and
// blank lines dropped.
func shellCommands(block string) []string {
	var cmds []string
	var cur strings.Builder
	for _, line := range strings.Split(block, "\n") {
		if strings.HasSuffix(line, "\\") {
			cur.WriteString(strings.TrimSuffix(line, "\\"))
			continue
		}
		cur.WriteString(line)
		c := strings.TrimSpace(stripComment(cur.String()))
		cur.Reset()
		if c != "" {
			cmds = append(cmds, c)
		}
	}
	return cmds
}

// stripComment drops a trailing "  # comment" (the walkthrough's commands quote no #).
func stripComment(line string) string {
	if i := strings.Index(line, "#"); i >= 0 && (i == 0 || line[i-1] == ' ') {
		return line[:i]
	}
	return line
}

// splitOutputs cuts the script's stdout at its "@@@ N" markers.
func splitOutputs(stdout string) map[int]string {
	out := map[int]string{}
	cur := -1
	for _, line := range strings.SplitAfter(stdout, "\n") {
		if n, ok := strings.CutPrefix(strings.TrimSpace(line), "@@@ "); ok {
			cur, _ = strconv.Atoi(n)
			continue
		}
		out[cur] += line
	}
	return out
}

// commandIndex finds the command whose text after "./pretrain " starts with name.
func commandIndex(cmds []string, name string) int {
	for i, c := range cmds {
		if rest, ok := strings.CutPrefix(c, "./pretrain "); ok && strings.HasPrefix(rest, name) {
			return i
		}
	}
	return -1
}

type expectation struct {
	command, key string
	value        any     // float64 or string
	noise        float64 // allowed |got - value| for numbers
}

func (e expectation) check(got any) string {
	switch want := e.value.(type) {
	case float64:
		g, ok := got.(float64)
		if !ok || math.Abs(g-want) > e.noise {
			return fmt.Sprintf("got %v, the README says %v (±%g)", got, want, e.noise)
		}
	case string:
		g, ok := got.(string)
		prefix, truncated := strings.CutSuffix(want, "…")
		if !ok || (truncated && !strings.HasPrefix(g, prefix)) || (!truncated && g != want) {
			return fmt.Sprintf("got %q, the README says %q", got, want)
		}
	}
	return ""
}

var (
	bulletRE = regexp.MustCompile("(?m)^- `([a-z -]+)`: (.*)$")
	pairRE   = regexp.MustCompile("`\"([a-z_]+)\": ([^`]+)`")
	noiseRE  = regexp.MustCompile(`±([0-9.]+)`)
)

// walkthroughExpectations reads the bullets under "What it prints": "- `command`: ..." with
// `"key": value` fragments and, for numbers, a "±noise" after the fragment.
func walkthroughExpectations(t *testing.T, section string) []expectation {
	t.Helper()
	_, after, ok := strings.Cut(section, "What it prints")
	if !ok {
		t.Fatal(`no "What it prints" in the section`)
	}
	var out []expectation
	for _, b := range bulletRE.FindAllStringSubmatch(after, -1) {
		text := b[2]
		for _, p := range pairRE.FindAllStringSubmatchIndex(text, -1) {
			e := expectation{command: b[1], key: text[p[2]:p[3]]}
			raw := text[p[4]:p[5]]
			if v, err := strconv.ParseFloat(raw, 64); err == nil {
				e.value = v
				if n := noiseRE.FindStringSubmatch(text[p[1]:min(len(text), p[1]+20)]); n != nil {
					e.noise, _ = strconv.ParseFloat(n[1], 64)
				}
			} else if s, err := strconv.Unquote(strings.Replace(raw, "…", "", 1)); err == nil {
				if strings.Contains(raw, "…") {
					s += "…"
				}
				e.value = s
			} else {
				t.Fatalf("cannot read %s's stated value %s", e.command, raw)
			}
			out = append(out, e)
		}
	}
	return out
}

// findKey finds key in a JSON document, depth first.
func findKey(doc any, key string) (any, bool) {
	switch d := doc.(type) {
	case map[string]any:
		if v, ok := d[key]; ok {
			return v, true
		}
		for _, v := range d {
			if got, ok := findKey(v, key); ok {
				return got, true
			}
		}
	case []any:
		for _, v := range d {
			if got, ok := findKey(v, key); ok {
				return got, true
			}
		}
	}
	return nil, false
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
