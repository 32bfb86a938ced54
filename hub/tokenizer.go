package hub

import (
	"bytes"
	"cmp"
	"encoding/json"
	"math/big"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// This file reproduces which files AutoTokenizer.from_pretrained(repo, revision=commit)
// requests in transformers 4.44.1, the version the reference pins.
// The reference ignores that call's failure, so a failure means "only the files requested
// before it". Citations: auto = models/auto/tokenization_auto.py, base =
// tokenization_utils_base.py, fast = tokenization_utils_fast.py, all at v4.44.1.

// tokenizerConfigFile is TOKENIZER_CONFIG_FILE, always requested first (auto
// get_tokenizer_config).
const tokenizerConfigFile = "tokenizer_config.json"

// Bounds on the files read into memory to decide what else to fetch. Real config.json files
// are a few KB; tokenizer_config.json files with large added_tokens_decoder tables reach a few
// MB. Both bounds are far above that.
const (
	maxConfigBytes          = 16 << 20
	maxTokenizerConfigBytes = 64 << 20
)

// transformersVersion is __version__ of the pinned transformers, against which
// get_fast_tokenizer_file compares versioned tokenizer files.
var transformersVersion = []int64{4, 44, 1}

// tokenizerVocab maps a tokenizer class name to its vocab_files_names values, in order. Only
// classes a causal LM repo plausibly names are listed; another class, even one transformers
// has, is treated as unresolvable (see hub/README.md).
var tokenizerVocab = map[string][]string{
	// fast: VOCAB_FILES_NAMES = {"tokenizer_file": "tokenizer.json"} (the tiktoken
	// tokenizer.model entry came in 4.45).
	"PreTrainedTokenizerFast": {"tokenizer.json"},
	"BloomTokenizerFast":      {"tokenizer.json"},
	"CohereTokenizerFast":     {"tokenizer.json"},
	// Byte-level BPE.
	"GPT2Tokenizer":          {"vocab.json", "merges.txt"},
	"GPT2TokenizerFast":      {"vocab.json", "merges.txt", "tokenizer.json"},
	"GPTNeoXTokenizerFast":   {"vocab.json", "merges.txt", "tokenizer.json"},
	"Qwen2Tokenizer":         {"vocab.json", "merges.txt"},
	"Qwen2TokenizerFast":     {"vocab.json", "merges.txt", "tokenizer.json"},
	"CodeGenTokenizer":       {"vocab.json", "merges.txt"},
	"CodeGenTokenizerFast":   {"vocab.json", "merges.txt", "tokenizer.json"},
	"BartTokenizer":          {"vocab.json", "merges.txt"},
	"BartTokenizerFast":      {"vocab.json", "merges.txt", "tokenizer.json"},
	"RobertaTokenizer":       {"vocab.json", "merges.txt"},
	"RobertaTokenizerFast":   {"vocab.json", "merges.txt", "tokenizer.json"},
	"LlamaTokenizer":         {"tokenizer.model"},
	"LlamaTokenizerFast":     {"tokenizer.model", "tokenizer.json"},
	"CodeLlamaTokenizer":     {"tokenizer.model"},
	"CodeLlamaTokenizerFast": {"tokenizer.model", "tokenizer.json"},
	"GemmaTokenizer":         {"tokenizer.model"},
	"GemmaTokenizerFast":     {"tokenizer.model", "tokenizer.json"},
	"T5Tokenizer":            {"spiece.model"},
	"T5TokenizerFast":        {"spiece.model", "tokenizer.json"},
	"BertTokenizer":          {"vocab.txt"},
	"BertTokenizerFast":      {"vocab.txt", "tokenizer.json"},
}

// tokenizerByModelType is auto's TOKENIZER_MAPPING_NAMES (slow, fast) for the model types of
// causal LMs; "" is None.
var tokenizerByModelType = map[string][2]string{
	"gpt2":            {"GPT2Tokenizer", "GPT2TokenizerFast"},
	"gpt_neo":         {"GPT2Tokenizer", "GPT2TokenizerFast"},
	"gpt_bigcode":     {"GPT2Tokenizer", "GPT2TokenizerFast"},
	"gptj":            {"GPT2Tokenizer", "GPT2TokenizerFast"},
	"opt":             {"GPT2Tokenizer", "GPT2TokenizerFast"},
	"starcoder2":      {"GPT2Tokenizer", "GPT2TokenizerFast"},
	"gpt_neox":        {"", "GPTNeoXTokenizerFast"},
	"stablelm":        {"", "GPTNeoXTokenizerFast"},
	"mpt":             {"", "GPTNeoXTokenizerFast"},
	"olmo":            {"", "GPTNeoXTokenizerFast"},
	"llama":           {"LlamaTokenizer", "LlamaTokenizerFast"},
	"mistral":         {"LlamaTokenizer", "LlamaTokenizerFast"},
	"mixtral":         {"LlamaTokenizer", "LlamaTokenizerFast"},
	"phi3":            {"LlamaTokenizer", "LlamaTokenizerFast"},
	"persimmon":       {"LlamaTokenizer", "LlamaTokenizerFast"},
	"qwen2":           {"Qwen2Tokenizer", "Qwen2TokenizerFast"},
	"qwen2_moe":       {"Qwen2Tokenizer", "Qwen2TokenizerFast"},
	"gemma":           {"GemmaTokenizer", "GemmaTokenizerFast"},
	"gemma2":          {"GemmaTokenizer", "GemmaTokenizerFast"},
	"recurrent_gemma": {"GemmaTokenizer", "GemmaTokenizerFast"},
	"phi":             {"CodeGenTokenizer", "CodeGenTokenizerFast"},
	"codegen":         {"CodeGenTokenizer", "CodeGenTokenizerFast"},
	"falcon":          {"", "PreTrainedTokenizerFast"},
	"bloom":           {"", "BloomTokenizerFast"},
	"cohere":          {"", "CohereTokenizerFast"},
	"bart":            {"BartTokenizer", "BartTokenizerFast"},
	"roberta":         {"RobertaTokenizer", "RobertaTokenizerFast"},
	"t5":              {"T5Tokenizer", "T5TokenizerFast"},
	"bert":            {"BertTokenizer", "BertTokenizerFast"},
}

// tokenizerRequests returns the files AutoTokenizer.from_pretrained requests after
// tokenizer_config.json, in request order, whether or not the repo has them; nil when the call
// fails before requesting any. tokenizerConfig is the content of tokenizer_config.json, nil
// when the repo has none; config is config.json's.
func tokenizerRequests(tokenizerConfig, config []byte) []string {
	var tc map[string]json.RawMessage
	if tokenizerConfig != nil {
		var ok bool
		if tc, ok = pyJSONObject(tokenizerConfig); !ok {
			return nil // get_tokenizer_config: json.load failed or result["_commit_hash"] = … on a non-dict
		}
	}
	// auto from_pretrained: config_tokenizer_class = tokenizer_config.get("tokenizer_class").
	class, ok := optString(tc, "tokenizer_class")
	if !ok {
		return nil // "…" + "Fast" or tokenizer_class_from_name on a non-str raises
	}
	remote := false // tokenizer_auto_map is not None
	if raw, in := tc["auto_map"]; in {
		switch jsonKind(raw) {
		case '[': // legacy format: the list itself
			remote = true
		case '{': // auto_map.get("AutoTokenizer", None)
			var m map[string]json.RawMessage
			_ = json.Unmarshal(raw, &m)
			v, in := m["AutoTokenizer"]
			remote = in && jsonKind(v) != 'n'
		default:
			return nil // .get on a str, number, bool or None raises AttributeError
		}
	}
	viaConfig := class == ""
	modelType := ""
	if viaConfig {
		// AutoConfig.from_pretrained: config.json, already fetched for the model.
		cfg, ok := pyJSONObject(config)
		if !ok {
			return nil
		}
		if modelType, ok = optString(cfg, "model_type"); !ok || modelType == "" {
			// A non-str model_type fails; a missing one makes AutoConfig match the repo
			// name against every model type, which is not reproduced (hub/README.md).
			return nil
		}
		if class, ok = optString(cfg, "tokenizer_class"); !ok {
			return nil
		}
		// if hasattr(config, "auto_map") and "AutoTokenizer" in config.auto_map:
		//     tokenizer_auto_map = config.auto_map["AutoTokenizer"]
		if raw, in := cfg["auto_map"]; in {
			switch jsonKind(raw) {
			case '{':
				var m map[string]json.RawMessage
				_ = json.Unmarshal(raw, &m)
				if v, in := m["AutoTokenizer"]; in {
					remote = jsonKind(v) != 'n'
				}
			case '[':
				var l []json.RawMessage
				_ = json.Unmarshal(raw, &l)
				for _, e := range l {
					if s, ok := jsonString(e); ok && s == "AutoTokenizer" {
						return nil // list["AutoTokenizer"] raises TypeError
					}
				}
			case '"':
				if s, _ := jsonString(raw); strings.Contains(s, "AutoTokenizer") {
					return nil // str["AutoTokenizer"] raises TypeError
				}
			default:
				return nil // "AutoTokenizer" in None (or a number, a bool) raises TypeError
			}
		}
	}
	_, knownType := tokenizerByModelType[modelType]
	hasLocal := viaConfig && knownType || class != "" && (tokenizerVocab[class] != nil || tokenizerVocab[class+"Fast"] != nil)
	if remote && !hasLocal {
		// resolve_trust_remote_code: trust_remote_code is unset and no local class exists,
		// so it prompts (or times out) and raises; the reference cannot answer.
		return nil
	}
	var name string
	switch {
	case class != "":
		// use_fast: "<class>Fast" first, unless the name already ends in Fast.
		if !strings.HasSuffix(class, "Fast") && tokenizerVocab[class+"Fast"] != nil {
			name = class + "Fast"
		} else if tokenizerVocab[class] != nil {
			name = class
		} else {
			return nil // ValueError: Tokenizer class … does not exist
		}
	case knownType:
		pair := tokenizerByModelType[modelType]
		name = cmp.Or(pair[1], pair[0])
		if name == "" {
			return nil
		}
	default:
		return nil // TOKENIZER_MAPPING[type(config)] raises KeyError
	}
	return classRequests(name, tc)
}

// classRequests is base PreTrainedTokenizerBase.from_pretrained for a repo id: vocab_files =
// {**cls.vocab_files_names, **additional_files_names}, with "tokenizer_file" then set to the
// file get_fast_tokenizer_file picks; each is requested. tc is the parsed tokenizer_config.json
// (nil if absent).
func classRequests(class string, tc map[string]json.RawMessage) []string {
	tokenizerFile := "tokenizer.json"
	if raw, in := tc["fast_tokenizer_files"]; in {
		var ok bool
		if tokenizerFile, ok = fastTokenizerFile(raw); !ok {
			return nil // raised before any vocab file was requested
		}
	}
	var out []string
	add := func(name string) {
		if !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	for _, f := range tokenizerVocab[class] {
		if f == "tokenizer.json" { // the tokenizer_file key, whose value is replaced
			f = tokenizerFile
		}
		add(f)
	}
	for _, f := range []string{"added_tokens.json", "special_tokens_map.json", tokenizerConfigFile, tokenizerFile} {
		add(f)
	}
	return out
}

// reTokenizerFile is base's _re_tokenizer_file, used with re.search.
var reTokenizerFile = regexp.MustCompile(`tokenizer\.(.*)\.json`)

// fastTokenizerFile is base get_fast_tokenizer_file(tokenizer_config["fast_tokenizer_files"]):
// map each name matching tokenizer.X.json to X (a later name wins), walk the Xs in string
// order, keep the last whose version is <= transformers' and stop at the first newer one.
// ok is false where Python raises: a value that is not iterable, a non-str element, or an X
// that is not a PEP 440 version (packaging >= 22 raises InvalidVersion).
func fastTokenizerFile(raw json.RawMessage) (file string, ok bool) {
	var names []string
	switch jsonKind(raw) {
	case '[':
		var l []json.RawMessage
		_ = json.Unmarshal(raw, &l)
		for _, e := range l {
			s, ok := jsonString(e)
			if !ok {
				return "", false // re.search on a non-str raises TypeError
			}
			names = append(names, s)
		}
	case '{': // iterating a dict yields its keys, in first-insertion order
		var ok bool
		if names, ok = objectKeys(raw); !ok {
			return "", false
		}
	case '"':
		// Iterating a str yields its characters, none of which matches: no versions.
	default:
		return "", false
	}
	byVersion := map[string]string{}
	for _, n := range names {
		if m := reTokenizerFile.FindStringSubmatch(n); m != nil {
			byVersion[m[1]] = n
		}
	}
	versions := make([]string, 0, len(byVersion))
	for v := range byVersion {
		versions = append(versions, v)
	}
	slices.Sort(versions) // sorted(str): code point order, which UTF-8 byte order preserves
	file = "tokenizer.json"
	for _, v := range versions {
		le, ok := versionAtMost(v, transformersVersion)
		if !ok {
			return "", false
		}
		if !le {
			break
		}
		file = byVersion[v]
	}
	return file, true
}

// rePEP440 is packaging.version's VERSION_PATTERN, anchored, case-insensitive; groups: 1
// epoch, 2 release, 3 pre, 4 post, 5 dev, 6 local.
var rePEP440 = regexp.MustCompile(`(?i)^v?(?:([0-9]+)!)?([0-9]+(?:\.[0-9]+)*)` +
	`([-_.]?(?:alpha|a|beta|b|preview|pre|c|rc)[-_.]?(?:[0-9]+)?)?` +
	`((?:-[0-9]+)|(?:[-_.]?(?:post|rev|r)[-_.]?(?:[0-9]+)?))?` +
	`([-_.]?dev[-_.]?(?:[0-9]+)?)?` +
	`(?:\+([a-z0-9]+(?:[-_.][a-z0-9]+)*))?$`)

// versionAtMost reports whether version.parse(v) <= Version(ref) for a plain release ref;
// ok is false if v is not a valid PEP 440 version.
func versionAtMost(v string, ref []int64) (le, ok bool) {
	// packaging strips whitespace around the version (\s* in Python's re: Unicode spaces
	// plus the separators U+001C-U+001F).
	v = strings.TrimFunc(v, func(r rune) bool { return unicode.IsSpace(r) || r >= 0x1c && r <= 0x1f })
	m := rePEP440.FindStringSubmatch(v)
	if m == nil {
		return false, false
	}
	if m[1] != "" && strings.Trim(m[1], "0") != "" {
		return false, true // a non-zero epoch sorts after every epoch-0 version
	}
	rel := strings.Split(m[2], ".")
	for len(rel) > 1 && strings.Trim(rel[len(rel)-1], "0") == "" {
		rel = rel[:len(rel)-1] // _cmpkey drops trailing zeros
	}
	for i := 0; i < len(rel) || i < len(ref); i++ {
		switch {
		case i >= len(rel):
			return true, true // a proper prefix sorts first
		case i >= len(ref):
			return false, true
		}
		var n big.Int
		n.SetString(rel[i], 10)
		if c := n.Cmp(big.NewInt(ref[i])); c != 0 {
			return c < 0, true
		}
	}
	// Same release as ref (which has no pre, post, dev or local part): a pre-release, or a
	// dev release without post, sorts before it; a post release or a local version after.
	pre, post, dev, local := m[3] != "", m[4] != "", m[5] != "", m[6] != ""
	switch {
	case pre:
		return true, true
	case post:
		return false, true
	case dev:
		return true, true
	case local:
		return false, true
	}
	return true, true
}

// pyJSONObject parses b as Python's json.load does after open(encoding="utf-8"): strict UTF-8,
// NaN and ±Infinity accepted; ok only for a JSON object. Keys are exact (not case-folded,
// unlike encoding/json's struct fields); a repeated key keeps its last value, as in Python.
func pyJSONObject(b []byte) (map[string]json.RawMessage, bool) {
	if !utf8.Valid(b) {
		return nil, false
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(pyConstants(b), &m); err != nil || m == nil {
		return nil, false
	}
	return m, true
}

// pyConstants replaces the NaN, Infinity and -Infinity tokens that Python's json accepts
// where a value may stand with 0, so that encoding/json parses what Python parses. A token
// elsewhere ("-NaN", "1NaN", "NaN.5") is left alone and stays a syntax error, as in Python.
func pyConstants(b []byte) []byte {
	if !bytes.Contains(b, []byte("NaN")) && !bytes.Contains(b, []byte("Infinity")) {
		return b
	}
	out := make([]byte, 0, len(b))
	inString := false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if inString {
			out = append(out, c)
			if c == '\\' && i+1 < len(b) {
				i++
				out = append(out, b[i])
			} else if c == '"' {
				inString = false
			}
			continue
		}
		if c == '"' {
			inString = true
		}
		if n := pyConstantAt(b, i); n > 0 {
			out, i = append(out, '0'), i+n-1
			continue
		}
		out = append(out, c)
	}
	return out
}

// pyConstantAt returns the length of the NaN, Infinity or -Infinity token at b[i:], or 0 if
// there is none or it does not stand alone as a value.
func pyConstantAt(b []byte, i int) int {
	n := 0
	for _, tok := range []string{"NaN", "Infinity", "-Infinity"} {
		if bytes.HasPrefix(b[i:], []byte(tok)) {
			n = len(tok)
		}
	}
	if n == 0 {
		return 0
	}
	if i > 0 && !bytes.ContainsRune([]byte("[,: \t\r\n"), rune(b[i-1])) {
		return 0
	}
	if i+n < len(b) && !bytes.ContainsRune([]byte("],} \t\r\n"), rune(b[i+n])) {
		return 0
	}
	return n
}

// jsonKind returns the first byte of a JSON value: '{', '[', '"', 'n' (null), 't'/'f' (bool)
// or a number's first character.
func jsonKind(raw json.RawMessage) byte {
	raw = bytes.TrimLeft(raw, " \t\r\n")
	if len(raw) == 0 {
		return 0
	}
	return raw[0]
}

// jsonString returns a JSON string value.
func jsonString(raw json.RawMessage) (string, bool) {
	var s string
	if jsonKind(raw) != '"' || json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// optString reads key of m as Python's dict.get does, for a value that must be a str or None:
// "" when absent or null; ok is false for any other type.
func optString(m map[string]json.RawMessage, key string) (string, bool) {
	raw, in := m[key]
	if !in || jsonKind(raw) == 'n' {
		return "", true
	}
	s, ok := jsonString(raw)
	if ok && s == "" {
		// An empty name resolves to no class (tokenizer_class_from_name("") is None), just
		// as an unknown one; "\x00" stands for it so that it is not taken for "absent".
		return "\x00", true
	}
	return s, ok
}

// objectKeys returns the keys of a JSON object in first-occurrence order, as a Python dict
// built by json.load iterates them.
func objectKeys(raw json.RawMessage) ([]string, bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, false
	}
	var keys []string
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, false
		}
		k, _ := t.(string)
		if !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil, false
		}
	}
	return keys, true
}
