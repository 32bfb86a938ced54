package train

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// makeTree creates files (a trailing slash: a directory holding a config.json) under dir.
func makeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if strings.HasSuffix(name, "/") {
			p = filepath.Join(p, "config.json")
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// listTree lists dir's entries, directories with a trailing slash.
func listTree(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() {
			n += "/"
		}
		names = append(names, n)
	}
	return names
}

func TestStartOver(t *testing.T) {
	dir := t.TempDir()
	makeTree(t, dir, map[string]string{
		StateFile: stateMagic + "rest", bestFile: `{"step":4,"held_out_loss":3}`, "latest/": "{}", "best/": "{}",
		".latest.tmp-123/": "{}", "." + StateFile + ".tmp-9": "x",
		"notes.txt": "mine", "corpus.jsonl": "{}", "bestiary/": "{}", ".hidden.tmp-1": "foreign",
	})
	removed, err := StartOver(dir)
	if err != nil {
		t.Fatal(err)
	}
	wantRemoved := []string{".latest.tmp-123", "." + StateFile + ".tmp-9", "best", bestFile, "latest", StateFile}
	slices.Sort(wantRemoved)
	if !slices.Equal(removed, wantRemoved) {
		t.Errorf("removed %v, want %v", removed, wantRemoved)
	}
	if got, want := listTree(t, dir), []string{".hidden.tmp-1", "bestiary/", "corpus.jsonl", "notes.txt"}; !slices.Equal(got, want) {
		t.Errorf("left %v, want %v", got, want)
	}
	if removed, err := StartOver(filepath.Join(dir, "absent")); err != nil || len(removed) != 0 {
		t.Errorf("StartOver(absent) = %v, %v; want nothing to do", removed, err)
	}
}

// TestStartOverRefuses: a directory that is not a run directory, a trainer_state.bin that
// is not a state file, or a best that is not a directory: an error, and nothing removed.
func TestStartOverRefuses(t *testing.T) {
	for name, files := range map[string]map[string]string{
		"not a run directory": {"latest/": "{}", "best/": "{}", "photos/": "{}", "todo.txt": "x"},
		"foreign state file":  {StateFile: "my own file", "latest/": "{}"},
		"best is a file":      {bestFile: `{"step":1,"held_out_loss":1}`, "best": "a file", "latest/": "{}"},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			makeTree(t, dir, files)
			before := listTree(t, dir)
			if removed, err := StartOver(dir); err == nil {
				t.Errorf("StartOver removed %v", removed)
			}
			if after := listTree(t, dir); !slices.Equal(after, before) {
				t.Errorf("entries %v became %v", before, after)
			}
		})
	}
	file := filepath.Join(t.TempDir(), "file")
	makeTree(t, filepath.Dir(file), map[string]string{"file": "x"})
	if _, err := StartOver(file); err == nil {
		t.Error("StartOver accepted a file")
	}
}

// TestRunRefusesForeignDirectory: a run never writes into a directory of other files, whose
// own latest/ it would replace.
func TestRunRefusesForeignDirectory(t *testing.T) {
	out := t.TempDir()
	makeTree(t, out, map[string]string{"latest/": `{"mine": true}`, "report.pdf": "x"})
	_, err := Run(t.Context(), runConfig(tinyGPT2(t), demoCorpus(t), out))
	if err == nil || !strings.Contains(err.Error(), "not a training run directory") {
		t.Fatalf("Run into a foreign directory: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(out, "latest", "config.json")); err != nil || string(b) != `{"mine": true}` {
		t.Errorf("latest/config.json is now %q (%v)", b, err)
	}
}
