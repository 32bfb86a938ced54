package chain

import (
	"errors"
	"fmt"
	"math/big"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Sizes of the compressed metadata string (taoverse model/data.py).
const (
	MaxMetadataBytes      = 128
	GitCommitLength       = 40
	SHA256Base64Length    = 44
	MaxCompetitionIDChars = 2
	// MaxRepoIDLength is what is left of MaxMetadataBytes for "namespace/name".
	MaxRepoIDLength = MaxMetadataBytes - GitCommitLength - SHA256Base64Length - MaxCompetitionIDChars - 4
)

// ModelID identifies a model as miners commit it on chain (taoverse's ModelId). Commit, Hash
// and SecureHash are optional: "" stands for the reference's None.
type ModelID struct {
	Namespace     string
	Name          string
	CompetitionID int
	Commit        string
	// Hash is the plain directory hash; only the legacy 4-field form carries it.
	Hash       string
	SecureHash string
}

// ModelMetadata is a ModelID with the block at which it was committed.
type ModelMetadata struct {
	ID    ModelID
	Block Block
}

// RepoID is "namespace/name".
func (id ModelID) RepoID() string { return id.Namespace + "/" + id.Name }

// String is the compressed form: namespace:name:commit:secure_hash:competition_id, with
// "None" for a missing commit or secure hash (ModelId.to_compressed_str).
func (id ModelID) String() string {
	return fmt.Sprintf("%s:%s:%s:%s:%d", id.Namespace, id.Name, orNone(id.Commit), orNone(id.SecureHash), id.CompetitionID)
}

func orNone(s string) string {
	if s == "" {
		return "None"
	}
	return s
}

func fromNone(s string) string {
	if s == "None" {
		return ""
	}
	return s
}

// ErrMalformedMetadata is returned for commitments that are not a model id. The validator
// treats such a miner as having no metadata, as the reference does on any parse exception.
var ErrMalformedMetadata = errors.New("malformed model metadata")

// ParseModelID parses a compressed metadata string as ModelId.from_compressed_str with
// default_competition_id 0: four fields are the legacy form (hash and secure hash both the
// fourth field), five or more take the competition id from the fifth, and extra fields are
// ignored, as in the reference.
func ParseModelID(s string) (ModelID, error) {
	if !utf8.ValidString(s) {
		return ModelID{}, fmt.Errorf("%w: not UTF-8", ErrMalformedMetadata)
	}
	if len(s) > MaxMetadataBytes {
		return ModelID{}, fmt.Errorf("%w: %d bytes, limit %d", ErrMalformedMetadata, len(s), MaxMetadataBytes)
	}
	tokens := strings.Split(s, ":")
	if len(tokens) < 4 {
		return ModelID{}, fmt.Errorf("%w: %d fields, want 4 or 5", ErrMalformedMetadata, len(tokens))
	}
	id := ModelID{
		Namespace:  tokens[0],
		Name:       tokens[1],
		Commit:     fromNone(tokens[2]),
		SecureHash: fromNone(tokens[3]),
	}
	if len(tokens) < 5 {
		id.Hash = id.SecureHash
		return id, nil
	}
	comp, err := pythonInt(tokens[4])
	if err != nil {
		return ModelID{}, fmt.Errorf("%w: competition id %q: %v", ErrMalformedMetadata, tokens[4], err)
	}
	id.CompetitionID = comp
	return id, nil
}

// Validate checks what a miner must check before committing: a valid repo id, a 40-character
// commit, and a string within MaxMetadataBytes.
func (id ModelID) Validate() error {
	if _, _, err := SplitRepoID(id.RepoID()); err != nil {
		return err
	}
	if len(id.Commit) != GitCommitLength {
		return fmt.Errorf("model id %s: commit %q is not %d characters", id.RepoID(), id.Commit, GitCommitLength)
	}
	if n := len(id.String()); n > MaxMetadataBytes {
		return fmt.Errorf("model id %s: metadata is %d bytes, limit %d", id.RepoID(), n, MaxMetadataBytes)
	}
	return nil
}

// SplitRepoID validates a Hugging Face repo id as taoverse's validate_hf_repo_id does (3 < length
// <= MaxRepoIDLength characters, exactly one "/") and returns its namespace and name.
func SplitRepoID(repoID string) (namespace, name string, err error) {
	if repoID == "" {
		return "", "", errors.New("hugging face repo id cannot be empty")
	}
	if n := utf8.RuneCountInString(repoID); n <= 3 || n > MaxRepoIDLength {
		return "", "", fmt.Errorf("hugging face repo id %q must be between 3 and %d characters", repoID, MaxRepoIDLength)
	}
	parts := strings.Split(repoID, "/")
	if len(parts) != 2 {
		return "", "", fmt.Errorf("hugging face repo id %q must be in the format <org or user name>/<repo_name>", repoID)
	}
	return parts[0], parts[1], nil
}

// URL is the model's page at its commit (taoverse's get_hf_url).
func (id ModelID) URL() string {
	return "https://huggingface.co/" + id.RepoID() + "/tree/" + orNone(id.Commit)
}

// pythonInt parses s as Python's int(s) does in base 10, so that a Go validator reads the same
// competition id as a Python one from any string: surrounding whitespace, a sign, underscores
// between digits, and decimal digits of any script.
func pythonInt(s string) (int, error) {
	s = strings.TrimFunc(s, pythonSpace)
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	if s == "" {
		return 0, errors.New("no digits")
	}
	n := new(big.Int)
	ten := big.NewInt(10)
	prevDigit := false
	for _, r := range s {
		if r == '_' {
			if !prevDigit {
				return 0, errors.New("misplaced underscore")
			}
			prevDigit = false
			continue
		}
		d, ok := decimalValue(r)
		if !ok {
			return 0, fmt.Errorf("invalid digit %q", r)
		}
		n.Mul(n, ten).Add(n, big.NewInt(int64(d)))
		prevDigit = true
	}
	if !prevDigit {
		return 0, errors.New("trailing underscore")
	}
	if neg {
		n.Neg(n)
	}
	if !n.IsInt64() || n.Int64() != int64(int(n.Int64())) {
		return 0, errors.New("out of range")
	}
	return int(n.Int64()), nil
}

// pythonSpace is the whitespace int() strips: ASCII " \t\n\v\f\r" (Py_ISSPACE; the ASCII
// separators U+001C..U+001F that str.isspace also counts are not stripped) and, beyond
// ASCII, Unicode whitespace.
func pythonSpace(r rune) bool {
	if r < utf8.RuneSelf {
		return r == ' ' || (r >= '\t' && r <= '\r')
	}
	return unicode.IsSpace(r)
}

// decimalValue returns the value of a Unicode decimal digit (category Nd). Every Nd range in
// the Unicode tables is a run of whole 0..9 sequences, so the offset within the range mod 10
// is the digit's value.
func decimalValue(r rune) (int, bool) {
	if r >= '0' && r <= '9' {
		return int(r - '0'), true
	}
	for _, rg := range unicode.Nd.R16 {
		if uint32(r) >= uint32(rg.Lo) && uint32(r) <= uint32(rg.Hi) {
			return int((uint32(r) - uint32(rg.Lo)) % 10), rg.Stride == 1
		}
	}
	for _, rg := range unicode.Nd.R32 {
		if uint32(r) >= rg.Lo && uint32(r) <= rg.Hi {
			return int((uint32(r) - rg.Lo) % 10), rg.Stride == 1
		}
	}
	return 0, false
}
