package hub

import (
	"errors"
	"fmt"
	"strings"
)

// MaxPathLen bounds a repo file path; real model repos use short names.
const MaxPathLen = 1024

// ValidateRepoID checks a "namespace/name" repo id by the Hub's naming rules (letters, digits,
// '-', '_', '.'; no leading or trailing '-' or '.'; no "--" or ".."; at most 96 characters per
// part). Being stricter than the reference's length check, it also keeps the id safe to use as
// path components of the local cache and of the local hub.
func ValidateRepoID(repo string) error {
	ns, name, ok := strings.Cut(repo, "/")
	if !ok || strings.Contains(name, "/") {
		return fmt.Errorf("repo id %q: want namespace/name", repo)
	}
	if err := validatePart(ns); err != nil {
		return fmt.Errorf("repo id %q: namespace: %w", repo, err)
	}
	if err := validatePart(name); err != nil {
		return fmt.Errorf("repo id %q: name: %w", repo, err)
	}
	return nil
}

func validatePart(s string) error {
	if s == "" || len(s) > 96 {
		return errors.New("length must be 1 to 96")
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return fmt.Errorf("character %q not allowed", c)
		}
	}
	if strings.Contains(s, "--") || strings.Contains(s, "..") {
		return errors.New(`"--" and ".." are not allowed`)
	}
	if s[0] == '-' || s[0] == '.' || s[len(s)-1] == '-' || s[len(s)-1] == '.' {
		return errors.New("must not start or end with '-' or '.'")
	}
	return nil
}

// ValidateCommit checks a 40-digit lowercase hex commit id.
func ValidateCommit(c string) error {
	if len(c) != 40 || strings.Trim(c, "0123456789abcdef") != "" {
		return fmt.Errorf("commit %q: want 40 lowercase hex digits", c)
	}
	return nil
}

// ValidatePath checks a file path inside a repo, as it comes from a model info response, a
// safetensors index or an upload: relative, '/'-separated, no empty, "." or ".." segments, no
// backslashes, NULs or control characters, and no segment the local stores reserve (".git",
// names ending in ".incomplete"). Such a path can be joined to a directory safely.
func ValidatePath(p string) error {
	if p == "" || len(p) > MaxPathLen {
		return fmt.Errorf("path %q: length must be 1 to %d", p, MaxPathLen)
	}
	for _, r := range p {
		if r < 0x20 || r == 0x7f || r == '\\' {
			return fmt.Errorf("path %q: character %q not allowed", p, r)
		}
	}
	for seg := range strings.SplitSeq(p, "/") {
		switch {
		case seg == "" || seg == "." || seg == "..":
			return fmt.Errorf("path %q: empty, '.' or '..' segment", p)
		case seg == ".git" || strings.HasSuffix(seg, incompleteSuffix):
			return fmt.Errorf("path %q: reserved name %q", p, seg)
		}
	}
	return nil
}

// incompleteSuffix marks a file still being downloaded.
const incompleteSuffix = ".incomplete"
