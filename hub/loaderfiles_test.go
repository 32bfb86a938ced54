package hub_test

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/pretrain/pretrain/hub"
)

// fakeRepoCommit is the commit of every repo fakeRepo serves.
var fakeRepoCommit = strings.Repeat("c", 40)

// fakeRepo serves repo "m/x" holding files (path → content; not LFS) on a fake hub, with
// extra raw sibling objects appended to the model info's listing.
func fakeRepo(t *testing.T, files map[string]string, extra ...string) string {
	t.Helper()
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var sibs []string
	for _, n := range names {
		sibs = append(sibs, fmt.Sprintf(`{"rfilename": %q, "size": %d, "blobId": %q}`, n, len(files[n]), gitBlob(files[n])))
	}
	sibs = append(sibs, extra...)
	info := fmt.Sprintf(`{"id": "m/x", "sha": %q, "siblings": [%s]}`, fakeRepoCommit, strings.Join(sibs, ","))
	return fakeHub(t, info, files)
}

// downloaded lists the files under dir, as slash paths, sorted.
func downloaded(t *testing.T, dir string) []string {
	t.Helper()
	var got []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		got = append(got, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(got)
	return got
}

// line returns "file:line" of its caller, so a failing table row names its source line.
func line() string {
	_, file, n, _ := runtime.Caller(1)
	return fmt.Sprintf("%s:%d", filepath.Base(file), n)
}

// TestTokenizerFiles checks which tokenizer files Download fetches: those that
// AutoTokenizer.from_pretrained(repo, revision=commit) of transformers 4.44.1 fetches (the
// reference's pin). Every repo also holds config.json and
// model.safetensors, always fetched; want lists the rest. Citations are to transformers 4.44:
// auto = models/auto/tokenization_auto.py, base = tokenization_utils_base.py.
func TestTokenizerFiles(t *testing.T) {
	const (
		llama = `{"model_type": "llama"}`
		gpt2  = `{"model_type": "gpt2"}`
	)
	// Files a repo may hold that no case below should fetch unless its class names them.
	all := func(extra map[string]string) map[string]string {
		m := map[string]string{
			"tokenizer.json": `{"version": "1.0"}`, "vocab.json": `{}`, "merges.txt": "#version: 0.2\n",
			"tokenizer.model": "spm", "special_tokens_map.json": `{}`, "added_tokens.json": `{}`,
			"vocab.txt": "[PAD]\n", "spiece.model": "spm",
		}
		for k, v := range extra {
			if v == "" {
				delete(m, k)
			} else {
				m[k] = v
			}
		}
		return m
	}
	common := []string{"added_tokens.json", "special_tokens_map.json", "tokenizer.json"}
	tests := []struct {
		name, src string
		config    string
		files     map[string]string // besides config.json and model.safetensors
		want      []string          // besides config.json and model.safetensors
	}{
		{
			// auto from_pretrained: tokenizer_config's tokenizer_class names
			// PreTrainedTokenizerFast, whose vocab_files_names (tokenization_utils_fast.py
			// VOCAB_FILES_NAMES, 4.44: tokenizer.json only) plus base's additional_files_names
			// are requested; the stray vocab.json, merges.txt, tokenizer.model are not.
			name: "PreTrainedTokenizerFast ignores stray BPE and SentencePiece files", src: line(), config: llama,
			files: all(map[string]string{"tokenizer_config.json": `{"tokenizer_class": "PreTrainedTokenizerFast"}`}),
			want:  append([]string{"tokenizer_config.json"}, common...),
		},
		{
			// auto: use_fast tries "GPT2Tokenizer"+"Fast" first; GPT2TokenizerFast's
			// vocab_files_names are vocab.json, merges.txt, tokenizer.json: no tokenizer.model.
			name: "GPT2 class ignores a stray tokenizer.model", src: line(), config: llama,
			files: all(map[string]string{"tokenizer_config.json": `{"tokenizer_class": "GPT2Tokenizer"}`}),
			want:  append([]string{"merges.txt", "tokenizer_config.json", "vocab.json"}, common...),
		},
		{
			// base: get_fast_tokenizer_file picks, in string-sorted order, the last
			// tokenizer.X.json with version X <= 4.44.1, stopping at the first newer one; the
			// chosen file replaces tokenizer.json under the tokenizer_file key.
			name: "fast_tokenizer_files selects a versioned file", src: line(), config: llama,
			files: all(map[string]string{
				"tokenizer_config.json": `{"tokenizer_class": "PreTrainedTokenizerFast", "fast_tokenizer_files": ["tokenizer.4.0.0.json", "tokenizer.4.44.1.json", "tokenizer.4.45.0.json"]}`,
				"tokenizer.4.0.0.json":  `{}`, "tokenizer.4.44.1.json": `{}`, "tokenizer.4.45.0.json": `{}`,
			}),
			want: []string{"added_tokens.json", "special_tokens_map.json", "tokenizer.4.44.1.json", "tokenizer_config.json"},
		},
		{
			// base get_fast_tokenizer_file sorts version strings, not versions: "10.0.0" sorts
			// first, is newer than 4.44.1, and ends the search, so tokenizer.json stays.
			name: "fast_tokenizer_files string sort", src: line(), config: llama,
			files: all(map[string]string{
				"tokenizer_config.json": `{"tokenizer_class": "PreTrainedTokenizerFast", "fast_tokenizer_files": ["tokenizer.4.0.0.json", "tokenizer.10.0.0.json"]}`,
				"tokenizer.4.0.0.json":  `{}`, "tokenizer.10.0.0.json": `{}`,
			}),
			want: append([]string{"tokenizer_config.json"}, common...),
		},
		{
			// base: version.parse raises InvalidVersion before any vocab file is requested;
			// the reference ignores the failure, so only tokenizer_config.json was fetched.
			name: "fast_tokenizer_files with an invalid version", src: line(), config: llama,
			files: all(map[string]string{
				"tokenizer_config.json": `{"tokenizer_class": "PreTrainedTokenizerFast", "fast_tokenizer_files": ["tokenizer.next.json"]}`,
			}),
			want: []string{"tokenizer_config.json"},
		},
		{
			// base: iterating a number raises TypeError, again before the vocab files.
			name: "fast_tokenizer_files not a list", src: line(), config: llama,
			files: all(map[string]string{"tokenizer_config.json": `{"tokenizer_class": "PreTrainedTokenizerFast", "fast_tokenizer_files": 3}`}),
			want:  []string{"tokenizer_config.json"},
		},
		{
			// auto: tokenizer_class_from_name finds neither MyTokenizerFast nor MyTokenizer:
			// ValueError after get_tokenizer_config fetched tokenizer_config.json.
			name: "unknown class", src: line(), config: gpt2,
			files: all(map[string]string{"tokenizer_config.json": `{"tokenizer_class": "MyTokenizer"}`}),
			want:  []string{"tokenizer_config.json"},
		},
		{
			// auto: "tokenizer_class" + "Fast" on a number raises TypeError.
			name: "class not a string", src: line(), config: gpt2,
			files: all(map[string]string{"tokenizer_config.json": `{"tokenizer_class": 7}`}),
			want:  []string{"tokenizer_config.json"},
		},
		{
			// get_tokenizer_config: json.load fails; nothing after it is fetched.
			name: "tokenizer_config.json not JSON", src: line(), config: gpt2,
			files: all(map[string]string{"tokenizer_config.json": `{"tokenizer_class": `}),
			want:  []string{"tokenizer_config.json"},
		},
		{
			// Python's json accepts NaN (and Infinity); the file parses and the class loads.
			name: "tokenizer_config.json with NaN", src: line(), config: gpt2,
			files: all(map[string]string{"tokenizer_config.json": `{"tokenizer_class": "PreTrainedTokenizerFast", "x": NaN, "y": [-Infinity]}`}),
			want:  append([]string{"tokenizer_config.json"}, common...),
		},
		{
			// No tokenizer file at all: gpt2 → GPT2TokenizerFast requests files the repo lacks.
			name: "no tokenizer files", src: line(), config: gpt2,
			files: map[string]string{},
			want:  nil,
		},
		{
			// auto: tokenizer_class LlamaTokenizer → LlamaTokenizerFast: tokenizer.model and
			// tokenizer.json (llama/tokenization_llama_fast.py VOCAB_FILES_NAMES).
			name: "Llama with tokenizer.model and tokenizer.json", src: line(), config: llama,
			files: all(map[string]string{"tokenizer_config.json": `{"tokenizer_class": "LlamaTokenizer"}`, "added_tokens.json": ""}),
			want:  []string{"special_tokens_map.json", "tokenizer.json", "tokenizer.model", "tokenizer_config.json"},
		},
		{
			// auto: no tokenizer_config.json, no tokenizer_class in config.json: model_type
			// qwen2 → TOKENIZER_MAPPING (Qwen2Tokenizer, Qwen2TokenizerFast) → the fast one.
			name: "Qwen2 by model_type", src: line(), config: `{"model_type": "qwen2"}`,
			files: all(nil),
			want:  append([]string{"merges.txt", "vocab.json"}, common...),
		},
		{
			// auto: tokenizer_config.json without tokenizer_class: AutoConfig, model_type
			// gpt_neox → (None, GPTNeoXTokenizerFast): vocab.json, merges.txt, tokenizer.json.
			name: "tokenizer_config without class, GPT-NeoX by model_type", src: line(), config: `{"model_type": "gpt_neox"}`,
			files: all(map[string]string{"tokenizer_config.json": `{"model_max_length": 2048}`}),
			want:  append([]string{"merges.txt", "tokenizer_config.json", "vocab.json"}, common...),
		},
		{
			// auto: (None, PreTrainedTokenizerFast) for falcon.
			name: "falcon by model_type", src: line(), config: `{"model_type": "falcon"}`,
			files: all(nil),
			want:  common,
		},
		{
			// auto: phi → (CodeGenTokenizer, CodeGenTokenizerFast).
			name: "phi by model_type", src: line(), config: `{"model_type": "phi"}`,
			files: all(nil),
			want:  append([]string{"merges.txt", "vocab.json"}, common...),
		},
		{
			// auto: gemma2 → GemmaTokenizerFast: tokenizer.model, tokenizer.json.
			name: "gemma2 by model_type", src: line(), config: `{"model_type": "gemma2"}`,
			files: all(nil),
			want:  []string{"added_tokens.json", "special_tokens_map.json", "tokenizer.json", "tokenizer.model"},
		},
		{
			// auto: config.json's tokenizer_class (PretrainedConfig.tokenizer_class) is used
			// before model_type when tokenizer_config.json has none.
			name: "config.json tokenizer_class", src: line(), config: `{"model_type": "llama", "tokenizer_class": "GPT2TokenizerFast"}`,
			files: all(nil),
			want:  append([]string{"merges.txt", "vocab.json"}, common...),
		},
		{
			// auto: a model_type outside TOKENIZER_MAPPING: KeyError, nothing fetched.
			name: "unknown model_type", src: line(), config: `{"model_type": "my_arch"}`,
			files: all(nil),
			want:  nil,
		},
		{
			// auto: auto_map names remote code and no local class exists: with
			// trust_remote_code unset, resolve_trust_remote_code raises (it cannot prompt).
			name: "remote code without a local class", src: line(), config: llama,
			files: all(map[string]string{"tokenizer_config.json": `{"tokenizer_class": "MyTokenizer", "auto_map": {"AutoTokenizer": ["tok.MyTokenizer", null]}}`}),
			want:  []string{"tokenizer_config.json"},
		},
		{
			// auto: a local class exists, so trust_remote_code resolves to False and the
			// remote code is not used.
			name: "remote code beside a local class", src: line(), config: llama,
			files: all(map[string]string{"tokenizer_config.json": `{"tokenizer_class": "PreTrainedTokenizerFast", "auto_map": {"AutoTokenizer": ["tok.MyTokenizer", null]}}`}),
			want:  append([]string{"tokenizer_config.json"}, common...),
		},
		{
			// auto: config.json's auto_map is read only when tokenizer_config has no class;
			// here model_type llama is local, so the remote code is ignored.
			name: "config.json auto_map beside a known model_type", src: line(), config: `{"model_type": "llama", "auto_map": {"AutoTokenizer": ["tok.T", null]}}`,
			files: all(nil),
			want:  []string{"added_tokens.json", "special_tokens_map.json", "tokenizer.json", "tokenizer.model"},
		},
		{
			// auto: auto_map: null → None.get raises AttributeError.
			name: "auto_map null", src: line(), config: llama,
			files: all(map[string]string{"tokenizer_config.json": `{"tokenizer_class": "PreTrainedTokenizerFast", "auto_map": null}`}),
			want:  []string{"tokenizer_config.json"},
		},
		{
			// auto: Bert (vocab.txt) and T5 (spiece.model) name other vocab files.
			name: "T5 class", src: line(), config: llama,
			files: all(map[string]string{"tokenizer_config.json": `{"tokenizer_class": "T5Tokenizer"}`}),
			want:  append([]string{"spiece.model", "tokenizer_config.json"}, common...),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string]string{"config.json": tt.config, "model.safetensors": "weights"}
			for k, v := range tt.files {
				files[k] = v
			}
			dest := filepath.Join(t.TempDir(), "snap")
			if err := client(t, fakeRepo(t, files), "").Download(t.Context(), "m/x", fakeRepoCommit, dest, 0); err != nil {
				t.Fatalf("%s: Download = %v", tt.src, err)
			}
			want := append([]string{"config.json", "model.safetensors"}, tt.want...)
			sort.Strings(want)
			if got := downloaded(t, dest); !slices.Equal(got, want) {
				t.Errorf("%s: downloaded %q, want %q", tt.src, got, want)
			}
		})
	}
}

// TestTokenizerConfigTooLarge: tokenizer_config.json is read into memory to resolve the
// tokenizer class, so its size is bounded before it is fetched.
func TestTokenizerConfigTooLarge(t *testing.T) {
	files := map[string]string{"config.json": `{"model_type": "gpt2"}`, "model.safetensors": "w"}
	huge := fmt.Sprintf(`{"rfilename": "tokenizer_config.json", "size": %d, "blobId": %q}`, int64(1)<<40, gitBlob(""))
	err := client(t, fakeRepo(t, files, huge), "").Download(t.Context(), "m/x", fakeRepoCommit, filepath.Join(t.TempDir(), "s"), 0)
	if err == nil || !strings.Contains(err.Error(), "tokenizer_config.json") || !strings.Contains(err.Error(), "over") {
		t.Fatalf("Download = %v, want an error naming tokenizer_config.json's bound", err)
	}
}

// TestOddSiblings: the reference sums the sizes of all files of the revision and downloads
// only what the loader asks for, so files with names the local store could not hold, listed
// twice, or with bad metadata do not matter unless they are among the downloaded ones.
func TestOddSiblings(t *testing.T) {
	files := map[string]string{"config.json": `{"model_type": "gpt2"}`, "model.safetensors": "weights"}
	odd := []string{
		`{"rfilename": "README.incomplete", "size": 10, "blobId": "x"}`,
		`{"rfilename": "docs\\notes.md", "size": 10, "blobId": "` + gitBlob("") + `"}`,
		`{"rfilename": "a\tb.txt", "size": 10, "blobId": "` + gitBlob("") + `"}`,
		`{"rfilename": "../evil", "size": 10, "blobId": "` + gitBlob("") + `"}`,
		`{"rfilename": ".git/config", "size": 10, "blobId": "` + gitBlob("") + `"}`,
		`{"rfilename": "big.bin", "size": 100, "lfs": {"sha256": "nothex", "size": 7, "pointerSize": 1}}`,
		`{"rfilename": "README.md", "size": 10, "blobId": "` + gitBlob("") + `"}`,
		`{"rfilename": "README.md", "size": 10, "blobId": "` + gitBlob("") + `"}`,
	}
	endpoint := fakeRepo(t, files, odd...)
	total := int64(len(files["config.json"])+len(files["model.safetensors"])) + 7*10 + 100

	dest := filepath.Join(t.TempDir(), "snap")
	c := client(t, endpoint, "")
	if err := c.Download(t.Context(), "m/x", fakeRepoCommit, dest, total); err != nil {
		t.Fatalf("Download = %v, want success", err)
	}
	if got, want := downloaded(t, dest), []string{"config.json", "model.safetensors"}; !slices.Equal(got, want) {
		t.Errorf("downloaded %q, want %q", got, want)
	}
	// Every sibling counts toward the size limit, as in the reference.
	err := c.Download(t.Context(), "m/x", fakeRepoCommit, filepath.Join(t.TempDir(), "s2"), total-1)
	if !errors.Is(err, hub.ErrTooLarge) {
		t.Errorf("Download with limit total-1 = %v, want ErrTooLarge", err)
	}
	info, err := c.ModelInfo(t.Context(), "m/x", fakeRepoCommit)
	if err != nil || info.TotalSize() != total {
		t.Errorf("ModelInfo = %v; TotalSize %d, want %d", err, info.TotalSize(), total)
	}
}
