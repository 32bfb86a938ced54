package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// TestHashCommand runs `pretrain hash` on modelstore's committed tree and compares with the
// hashes CPython computed with the reference code (modelstore/testdata/refhash.py).
func TestHashCommand(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "modelstore", "testdata", "refhash.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		Hotkey   string `json:"hotkey"`
		HashTree struct {
			Hash       string `json:"hash"`
			SecureHash string `json:"secure_hash"`
		} `json:"hashtree"`
	}
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	tree := filepath.Join("..", "..", "modelstore", "testdata", "hashtree")
	tests := []struct {
		name string
		args []string
		want map[string]string
	}{
		{"plain", []string{"hash", tree}, map[string]string{"hash": ref.HashTree.Hash}},
		{"hotkey", []string{"hash", tree, "--hotkey-address", ref.Hotkey},
			map[string]string{"hash": ref.HashTree.Hash, "secure_hash": ref.HashTree.SecureHash}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, _, err := runCLI(t, tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			var got map[string]string
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("output %q: %v", out, err)
			}
			if len(got) != len(tt.want) {
				t.Errorf("pretrain %v = %v, want %v", tt.args, got, tt.want)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("pretrain %v: %s = %q, want %q", tt.args, k, got[k], v)
				}
			}
		})
	}
}
