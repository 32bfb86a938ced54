package hub

import (
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParseModelInfo: any model info body either fails or gives non-negative sizes; a file
// that passes validateRepoFile (the check before it is downloaded) has a path safe to join
// under a directory and a consistent hash.
func FuzzParseModelInfo(f *testing.F) {
	c := strings.Repeat("a", 40)
	f.Add(`{"sha":"` + c + `","siblings":[{"rfilename":"config.json","size":2,"blobId":"` + c + `"}]}`)
	f.Add(`{"sha":"` + c + `","siblings":[{"rfilename":"model.safetensors","size":5,"lfs":{"sha256":"` + c + c[:24] + `","size":5,"pointerSize":130}}]}`)
	f.Add(`{"sha":"` + c + `","siblings":[{"rfilename":"../x","size":1,"blobId":"` + c + `"}]}`)
	f.Add(`{"sha":null}`)
	f.Fuzz(func(t *testing.T, body string) {
		m, err := parseModelInfo("fuzz/repo", []byte(body))
		if err != nil {
			return
		}
		if ValidateCommit(m.SHA) != nil || m.TotalSize() < 0 {
			t.Fatalf("accepted sha %q total %d", m.SHA, m.TotalSize())
		}
		for _, f := range m.Files {
			if f.Size < 0 {
				t.Fatalf("accepted size %+v", f)
			}
			if validateRepoFile(f) != nil {
				continue
			}
			if !filepath.IsLocal(f.Path) {
				t.Fatalf("accepted file %+v", f)
			}
			if f.LFS != nil && (len(f.LFS.SHA256) != 64 || f.LFS.Size != f.Size) {
				t.Fatalf("accepted lfs %+v", f.LFS)
			}
		}
	})
}

// FuzzParseIndex: shard names from a safetensors index are safe paths.
func FuzzParseIndex(f *testing.F) {
	f.Add(`{"metadata":{"total_size":10},"weight_map":{"a":"model-00001-of-00002.safetensors","b":"model-00002-of-00002.safetensors"}}`)
	f.Add(`{"weight_map":{"a":"../../etc/passwd"}}`)
	f.Add(`{"weight_map":{}}`)
	f.Fuzz(func(t *testing.T, body string) {
		shards, err := parseIndex([]byte(body))
		if err != nil {
			return
		}
		if len(shards) == 0 {
			t.Fatal("accepted an index without shards")
		}
		for _, s := range shards {
			if !filepath.IsLocal(s) || ValidatePath(s) != nil {
				t.Fatalf("accepted shard %q", s)
			}
		}
	})
}

// FuzzValidatePath: an accepted path is local, stays under any directory it is joined to,
// and round-trips through filepath's slash conversion.
func FuzzValidatePath(f *testing.F) {
	for _, s := range []string{"config.json", "a/b/c", "../x", "/abs", "a//b", "a/./b", "x.incomplete", ".git/config", "a\\b", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		if ValidatePath(p) != nil {
			return
		}
		if !filepath.IsLocal(p) {
			t.Fatalf("accepted non-local %q", p)
		}
		j := filepath.Join("/base", filepath.FromSlash(p))
		if !strings.HasPrefix(j, "/base/") || filepath.ToSlash(j[len("/base/"):]) != p {
			t.Fatalf("accepted %q joins to %q", p, j)
		}
	})
}

// FuzzValidateRepoID: an accepted repo id is exactly two safe path elements.
func FuzzValidateRepoID(f *testing.F) {
	for _, s := range []string{"miner/tiny", "a/b/c", "../x", "a--b/c", "a/.b", "/x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if ValidateRepoID(s) != nil {
			return
		}
		ns, name, _ := strings.Cut(s, "/")
		for _, part := range []string{ns, name} {
			if !filepath.IsLocal(part) || strings.ContainsAny(part, "/\\") || strings.Contains(part, "--") {
				t.Fatalf("accepted %q", s)
			}
		}
	})
}
