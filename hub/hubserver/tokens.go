package hubserver

import (
	"encoding/json"
	"fmt"
	"os"
)

// LoadTokens reads a tokens file: a JSON object mapping each namespace to its token, e.g.
// {"miner1": "hf_..."}. The file holds secrets, so it must not be readable by group or others
// (mode 0600). It returns the token → namespace map of [Config.Tokens].
func LoadTokens(path string) (map[string]string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("load tokens %s: %w", path, err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("load tokens %s: mode %v is readable by others, want 0600", path, fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load tokens %s: %w", path, err)
	}
	var byNS map[string]string
	if err := json.Unmarshal(b, &byNS); err != nil {
		return nil, fmt.Errorf("load tokens %s: %w", path, err) // json errors do not quote the input
	}
	tokens := make(map[string]string, len(byNS))
	for ns, tok := range byNS {
		if _, dup := tokens[tok]; dup {
			return nil, fmt.Errorf("load tokens %s: a token is shared by two namespaces", path)
		}
		tokens[tok] = ns
	}
	return tokens, nil
}
