package train

// This file says what a run directory is and which of its entries the trainer owns, so
// that neither a mistyped output directory nor a fresh start ever touches anyone else's
// files.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// ownedNames are the entries of a run directory that the trainer writes: the state file,
// best/'s record and the two model directories.
var ownedNames = []string{StateFile, bestFile, "latest", "best"}

// owned reports whether name is one of ownedNames or the temporary sibling of one
// (".NAME.tmp-…", which atomicfile and WriteModelDir leave behind when killed).
func owned(name string) bool {
	for _, n := range ownedNames {
		if name == n || strings.HasPrefix(name, "."+n+".tmp-") {
			return true
		}
	}
	return false
}

// checkRunDir accepts out when it does not exist, holds nothing but what the trainer
// writes, or is marked as a run directory by a state file or best.json (other files, a
// corpus or notes, may sit beside them). Anything else is refused, so that a mistyped --out
// never has a latest/ or best/ of its own replaced. It returns out's entries.
func checkRunDir(out string) ([]os.DirEntry, error) {
	entries, err := os.ReadDir(out)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("run directory: %w", err)
	}
	var foreign []string
	marked := false
	for _, e := range entries {
		switch {
		case e.Name() == StateFile || e.Name() == bestFile:
			marked = true
		case !owned(e.Name()):
			foreign = append(foreign, e.Name())
		}
	}
	if len(foreign) > 0 && !marked {
		return nil, fmt.Errorf("%s is not a training run directory: it holds %s and no %s; give a new or empty directory",
			out, strings.Join(foreign[:min(len(foreign), 3)], ", "), StateFile)
	}
	return entries, nil
}

// StartOver removes from the run directory out what the trainer owns (trainer_state.bin,
// best.json, latest/, best/ and their temporary siblings), so that the next [Run] there
// starts a new run, and returns the names it removed. It removes nothing else, and nothing
// at all when out is not a run directory (see checkRunDir), when trainer_state.bin is not a
// state file, or when latest or best is not a directory. An absent out is no error.
func StartOver(out string) ([]string, error) {
	entries, err := checkRunDir(out)
	if err != nil {
		return nil, fmt.Errorf("start over: %w", err)
	}
	var remove []string
	for _, e := range entries {
		name := e.Name()
		if !owned(name) {
			continue
		}
		switch name {
		case StateFile:
			if err := checkStateMagic(filepath.Join(out, name)); err != nil {
				return nil, fmt.Errorf("start over: %w", err)
			}
		case "latest", "best":
			if !e.IsDir() { // DirEntry reports a symbolic link as not a directory
				return nil, fmt.Errorf("start over: %s is not a model directory; not removing it", filepath.Join(out, name))
			}
		}
		remove = append(remove, name)
	}
	for _, name := range remove {
		if err := os.RemoveAll(filepath.Join(out, name)); err != nil {
			return nil, fmt.Errorf("start over: %w", err)
		}
	}
	slices.Sort(remove)
	return remove, nil
}

// checkStateMagic returns an error unless path begins as a state file does.
func checkStateMagic(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	magic := make([]byte, len(stateMagic))
	if _, err := io.ReadFull(f, magic); err != nil || !bytes.Equal(magic, []byte(stateMagic)) {
		return fmt.Errorf("%s is not a trainer state file; not removing it", path)
	}
	return nil
}

// removeStale removes the temporary siblings a killed run leaves behind.
func removeStale(out string, entries []os.DirEntry) {
	for _, e := range entries {
		if owned(e.Name()) && strings.HasPrefix(e.Name(), ".") {
			os.RemoveAll(filepath.Join(out, e.Name()))
		}
	}
}
