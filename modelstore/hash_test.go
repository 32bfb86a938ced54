package modelstore

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"unicode/utf8"
)

// Vectors from taoverse's own tests (tests/model/test_model_utils.py and
// tests/model/storage/disk/test_disk_utils.py).
func TestHashTwoStrings(t *testing.T) {
	const want = "k2oYXKqiZrucvpgengXLeM1zKwsygOuURBK7b4+PB68="
	if got := HashTwoStrings("hello", "world"); got != want {
		t.Errorf(`HashTwoStrings("hello", "world") = %q, want %q`, got, want)
	}
	if got := SecureHash("hello", "world"); got != want {
		t.Errorf(`SecureHash("hello", "world") = %q, want %q`, got, want)
	}
}

func TestHashFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "test.txt")
	if err := os.WriteFile(path, []byte("test text."), 0o644); err != nil {
		t.Fatal(err)
	}
	const want = "tXNDvHVzqYIRiUx0rvK+M5+Lu4OLzhfPJH+gf7HvCeA=" // openssl dgst -sha256 -binary | base64
	got, err := HashFile(path)
	if err != nil || got != want {
		t.Errorf("HashFile(test text.) = %q, %v, want %q", got, err, want)
	}
}

// The taoverse test_get_hash_of_directory: two dirs with the same files hash the same, and
// their parent hashes differently.
func TestHashDirSameFiles(t *testing.T) {
	base := t.TempDir()
	for _, d := range []string{"dir1", "dir2"} {
		if err := os.Mkdir(filepath.Join(base, d), 0o755); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"test1.txt", "test2.txt"} {
			if err := os.WriteFile(filepath.Join(base, d, f), []byte("test text."), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	h1, err1 := HashDir(filepath.Join(base, "dir1"))
	h2, err2 := HashDir(filepath.Join(base, "dir2"))
	hb, errb := HashDir(base)
	if err := cmpErr(err1, err2, errb); err != nil {
		t.Fatal(err)
	}
	if h1 != h2 {
		t.Errorf("HashDir(dir1) = %q, HashDir(dir2) = %q, want equal", h1, h2)
	}
	if hb == h1 {
		t.Errorf("HashDir(parent) = HashDir(dir1) = %q, want different", hb)
	}
}

func cmpErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// refHashes is testdata/refhash.json, written by testdata/refhash.py.
type refHashes struct {
	Hotkey   string `json:"hotkey"`
	HashTree struct {
		Hash       string            `json:"hash"`
		SecureHash string            `json:"secure_hash"`
		Subdirs    map[string]string `json:"subdirs"`
	} `json:"hashtree"`
	Cases []struct {
		Name    string `json:"name"`
		Entries []struct {
			Type, Path, Content, Target string
		} `json:"entries"`
		Order      []string `json:"order"`
		Hash       string   `json:"hash"`
		SecureHash string   `json:"secure_hash"`
	} `json:"cases"`
}

func loadRefHashes(t *testing.T) refHashes {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "refhash.json"))
	if err != nil {
		t.Fatal(err)
	}
	var r refHashes
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("parse refhash.json: %v", err)
	}
	if len(r.Cases) == 0 || r.HashTree.Hash == "" {
		t.Fatal("refhash.json holds no cases")
	}
	return r
}

func TestHashDirReferenceTree(t *testing.T) {
	ref := loadRefHashes(t)
	tree := filepath.Join("testdata", "hashtree")
	got, err := HashDir(tree)
	if err != nil {
		t.Fatal(err)
	}
	if got != ref.HashTree.Hash {
		t.Errorf("HashDir(testdata/hashtree) = %q, want %q (CPython)", got, ref.HashTree.Hash)
	}
	if sh := SecureHash(got, ref.Hotkey); sh != ref.HashTree.SecureHash {
		t.Errorf("SecureHash(hashtree, %s) = %q, want %q", ref.Hotkey, sh, ref.HashTree.SecureHash)
	}
	for name, want := range ref.HashTree.Subdirs {
		if got, err := HashDir(filepath.Join(tree, name)); err != nil || got != want {
			t.Errorf("HashDir(hashtree/%s) = %q, %v, want %q", name, got, err, want)
		}
	}
}

func TestHashDirReferenceCases(t *testing.T) {
	ref := loadRefHashes(t)
	for _, c := range ref.Cases {
		t.Run(c.Name, func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "root")
			if err := os.Mkdir(root, 0o755); err != nil {
				t.Fatal(err)
			}
			for _, e := range c.Entries {
				p := filepath.Join(root, unhex(t, e.Path))
				var err error
				switch e.Type {
				case "dir":
					err = os.MkdirAll(p, 0o755)
				case "file":
					if err = os.MkdirAll(filepath.Dir(p), 0o755); err == nil {
						err = os.WriteFile(p, []byte(unhex(t, e.Content)), 0o644)
					}
				case "symlink":
					err = os.Symlink(unhex(t, e.Target), p)
				default:
					t.Fatalf("entry type %q", e.Type)
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			var order []string
			if err := hashWalk(root, func(path string) error {
				rel, err := filepath.Rel(root, path)
				order = append(order, hex.EncodeToString([]byte(rel)))
				return err
			}); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(order, c.Order) {
				t.Errorf("walk order = %s, want %s (CPython os.walk)", showHex(order), showHex(c.Order))
			}
			got, err := HashDir(root)
			if err != nil {
				t.Fatal(err)
			}
			if got != c.Hash {
				t.Errorf("HashDir = %q, want %q (CPython)", got, c.Hash)
			}
			if sh := SecureHash(got, ref.Hotkey); sh != c.SecureHash {
				t.Errorf("SecureHash = %q, want %q (CPython)", sh, c.SecureHash)
			}
		})
	}
}

func unhex(t *testing.T, s string) string {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func showHex(hs []string) string {
	var out []string
	for _, h := range hs {
		b, _ := hex.DecodeString(h)
		out = append(out, strings.ToValidUTF8(string(b), "\\x?")) // readable, lossy
	}
	return "[" + strings.Join(out, " ") + "]"
}

func TestHashDirErrors(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, root string)
		want  string
	}{
		{"missing root", func(t *testing.T, root string) { os.Remove(root) }, "no such file"},
		{"dangling symlink", func(t *testing.T, root string) {
			must(t, os.Symlink("nowhere", filepath.Join(root, "x")))
		}, "no such file"},
		{"fifo", func(t *testing.T, root string) {
			must(t, syscall.Mkfifo(filepath.Join(root, "pipe"), 0o644))
		}, "not a regular file"},
		{"root is a file", func(t *testing.T, root string) {
			must(t, os.Remove(root))
			must(t, os.WriteFile(root, nil, 0o644))
		}, "not a directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "root")
			must(t, os.Mkdir(root, 0o755))
			tt.setup(t, root)
			_, err := HashDir(root)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "hash dir ") {
				t.Errorf("HashDir = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestPyCompare(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"a", "b", -1},
		{"a", "a", 0},
		{"a", "ab", -1},
		{"B", "a", -1},
		{"\xc3", "\xc3\xa9", 1},                      // U+DCC3 > U+00E9, though bytes say shorter-first
		{"\xff", "\xef\xbf\xbf", -1},                 // U+DCFF < U+FFFF, though 0xff > 0xef
		{"\xff", "\xf0\x9f\x98\x80", -1},             // surrogates sort below astral characters
		{"\xed\xa0\x80", "\xed\x9f\xbf", 1},          // encoded surrogate is three escapes: U+DCED > U+D7FF
		{"\xef\xbf\xbd", "\xff", 1},                  // a real U+FFFD is not an escape
		{"\xe2\x82x", "\xe2\x82", 1},                 // prefix
		{"\xc0\xaf", "/", 1},                         // overlong: escaped, not decoded
		{"\xf4\x90\x80\x80", "\xf4\x8f\xbf\xbf", -1}, // above U+10FFFF is escaped
	}
	for _, tt := range tests {
		if got := pyCompare(tt.a, tt.b); got != tt.want {
			t.Errorf("pyCompare(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := pyCompare(tt.b, tt.a); got != -tt.want {
			t.Errorf("pyCompare(%q, %q) = %d, want %d", tt.b, tt.a, got, -tt.want)
		}
	}
}

// FuzzPyCompare checks the properties the walk order relies on: an antisymmetric order that
// equals byte order whenever both names are valid UTF-8 (then code point order and UTF-8 byte
// order coincide).
func FuzzPyCompare(f *testing.F) {
	f.Add("a", "b")
	f.Add("\xc3", "\xc3\xa9")
	f.Add("\xff", "\xef\xbf\xbf")
	f.Fuzz(func(t *testing.T, a, b string) {
		ab, ba := pyCompare(a, b), pyCompare(b, a)
		if ab != -ba {
			t.Fatalf("pyCompare(%q, %q) = %d but reversed = %d", a, b, ab, ba)
		}
		if (ab == 0) != (a == b) {
			t.Fatalf("pyCompare(%q, %q) = %d", a, b, ab)
		}
		if utf8.ValidString(a) && utf8.ValidString(b) && ab != strings.Compare(a, b) {
			t.Fatalf("pyCompare(%q, %q) = %d, byte order %d", a, b, ab, strings.Compare(a, b))
		}
	})
}

func BenchmarkHashFile(b *testing.B) {
	path := filepath.Join(b.TempDir(), "w")
	data := make([]byte, 64<<20)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := HashFile(path); err != nil {
			b.Fatal(err)
		}
	}
}

func TestCheckHash(t *testing.T) {
	const dir, hk = "tXNDvHVzqYIRiUx0rvK+M5+Lu4OLzhfPJH+gf7HvCeA=", "5GrwvaF5JtjUsYQCsy1T5FbHZE2Rg8wTKYZrVoHtxedUcR1f"
	secure := HashTwoStrings(dir, hk)
	tests := []struct {
		name, metaHash, metaSecure string
		ok                         bool
	}{
		{"5-field, secure hash matches", "", secure, true},
		{"5-field, secure hash of another hotkey", "", HashTwoStrings(dir, "5Other"), false},
		{"5-field, plain hash given as secure hash", "", dir, false},
		{"legacy 4-field, plain hash", dir, dir, true},
		{"legacy 4-field, salted hash", secure, secure, true},
		{"legacy 4-field, wrong", "x", "x", false},
	}
	for _, tt := range tests {
		err := CheckHash(dir, hk, tt.metaHash, tt.metaSecure)
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrHashMismatch)) {
			t.Errorf("%s: CheckHash = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}
