// Package dataset owns SN9's evaluation data: the Hugging Face datasets-server client, the seeded
// page loaders of the reference (macrocosm-os/pretraining pretrain/dataset.py @ 42328de),
// tokenization and packing into [batch_size, L] windows, the seeded shuffle and cut to 50 batches
// (run_step in neurons/validator.py), and an on-disk page cache.
//
// Everything that decides which pages are read and which tokens they become matches the
// reference exactly, including its RNG consumption on retries; see the comments citing it.
// The local datasets server serving the same API from files lives in dataset/dataserver.
package dataset

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/big"
	"strings"

	"github.com/pretrain/pretrain/chain"
	"github.com/pretrain/pretrain/competition"
)

// Tokenizer is what the loaders need from a tokenizer. The tokenizer package's types satisfy it.
type Tokenizer interface {
	// Encode returns HF tokenizer(text, truncation=truncate)["input_ids"]: no BOS, and when
	// truncate is set, at most model_max_length ids.
	Encode(text string, truncate bool) []int32
	// EOS returns the end-of-sequence id appended after every document.
	EOS() int32
}

// Spec describes one reference loader class: which HF dataset it reads and how.
type Spec struct {
	ID   competition.DatasetID
	Name string // short name used by the CLI, e.g. "falcon"
	// Dataset, Config and Split are the datasets-server parameters.
	Dataset string
	Config  string
	Split   string
	// MaxPages is the upper bound of randint(1, max_pages) for simple loaders.
	MaxPages int64
	// FineWebStyle loaders pick (config, offset) pages from /size (SubsetFineWebEdu2Loader).
	FineWebStyle bool
	// RequiresAuth sends Authorization: Bearer HF_TOKEN on /rows (and needs the token).
	RequiresAuth bool
	// TextOnly loaders read row["text"] with no fallback to row["content"] (the FineWeb ones).
	TextOnly bool
	// S3Content rows carry blob_id + src_encoding; text is fetched from Software Heritage.
	S3Content bool
}

// Reference constants (SubsetLoader.__init__ in pretrain/dataset.py).
const (
	RowsPerPage            = 50
	DuplicatePageThreshold = 100
	RetryLimit             = 15
)

// Specs lists every text loader of the reference, by ID.
var Specs = []Spec{
	{ID: competition.DatasetFalcon, Name: "falcon", Dataset: "tiiuae/falcon-refinedweb", Config: "default", Split: "train", MaxPages: 968000015},
	{ID: competition.DatasetFineWeb, Name: "fineweb", Dataset: "HuggingFaceFW/fineweb", Config: "default", Split: "train", FineWebStyle: true, TextOnly: true},
	{ID: competition.DatasetFineWeb2, Name: "fineweb-edu2", Dataset: "HuggingFaceFW/fineweb-edu-score-2", Config: "default", Split: "train", FineWebStyle: true, TextOnly: true},
	{ID: competition.DatasetStack1, Name: "stack-v1", Dataset: "bigcode/the-stack-dedup", Config: "default", Split: "train", MaxPages: 236655813, RequiresAuth: true},
	{ID: competition.DatasetStack2, Name: "stack-v2", Dataset: "bigcode/the-stack-v2-dedup", Config: "default", Split: "train", MaxPages: 5_451_114_734, RequiresAuth: true, S3Content: true},
	{ID: competition.DatasetPes2oX, Name: "pes2ox", Dataset: "laion/Pes2oX-fulltext", Config: "pes2ov2", Split: "train", MaxPages: 8242000},
	{ID: competition.DatasetFineMath3P, Name: "finemath-3plus", Dataset: "HuggingFaceTB/finemath", Config: "finemath-3plus", Split: "train", MaxPages: 21_400_000},
	{ID: competition.DatasetWebMath3P, Name: "infiwebmath-3plus", Dataset: "HuggingFaceTB/finemath", Config: "infiwebmath-3plus", Split: "train", MaxPages: 13_900_000},
	// The local competition's corpus on the local datasets server (not the reference's): sampled
	// FineWeb-style, so the server's reported sizes drive the page arithmetic.
	{ID: competition.DatasetLocal, Name: "local", Dataset: "pretrain/demo-corpus", Config: "default", Split: "train", FineWebStyle: true},
}

// SpecByID finds the loader of a competition task's dataset.
func SpecByID(id competition.DatasetID) (Spec, error) {
	for _, s := range Specs {
		if s.ID == id {
			return s, nil
		}
	}
	return Spec{}, fmt.Errorf("no loader for dataset id %d", id)
}

// SpecByName finds a loader by its short name, its ID number or its HF dataset name
// (dataset names shared by two loaders need the short name).
func SpecByName(name string) (Spec, error) {
	var found []Spec
	for _, s := range Specs {
		if s.Name == name || fmt.Sprint(int(s.ID)) == name {
			return s, nil
		}
		if strings.EqualFold(s.Dataset, name) {
			found = append(found, s)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		names := make([]string, len(Specs))
		for i, s := range Specs {
			names[i] = s.Name
		}
		return Spec{}, fmt.Errorf("dataset %q: unknown (known: %s)", name, strings.Join(names, ", "))
	default:
		return Spec{}, fmt.Errorf("dataset %q: ambiguous, use a short name (%s or %s)", name, found[0].Name, found[1].Name)
	}
}

// Page is one page a loader reads: RowsPerPage rows from Offset of Config/Split.
type Page struct {
	Config string `json:"config"`
	Offset int64  `json:"offset"`
	Split  string `json:"split"`
}

// SeedFromBlockHash is the reference's seed: int(sha256(hash.encode("utf-8")).hexdigest(), 16),
// where hash is the block hash exactly as the chain returns it ("0x…", lowercase).
func SeedFromBlockHash(hash string) *big.Int {
	sum := sha256.Sum256([]byte(hash))
	v, _ := new(big.Int).SetString(hex.EncodeToString(sum[:]), 16)
	return v
}

// SyncBlock is the block whose hash seeds a step: cur // 150 * 150 (get_hash_of_sync_block).
func SyncBlock(cur chain.Block) chain.Block {
	if cur < 0 {
		return 0
	}
	return cur / competition.SyncBlockCadence * competition.SyncBlockCadence
}
