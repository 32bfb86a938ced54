package miner

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pretrain/pretrain/chain"
	"github.com/pretrain/pretrain/chain/localchain"
	"github.com/pretrain/pretrain/competition"
	"github.com/pretrain/pretrain/modelstore"
)

// TestHelpersOnLocalMetagraph builds a subnet with one validator and seven miners on the
// local chain, gives them incentive through Yuma Consensus, and checks best-uid, repo,
// metadata and download against the reference's rules:
//
//	uid  weight  metadata
//	1    60000   a model of competition 2 (another competition)
//	2    50000   "garbage" (malformed)
//	3    40000   none
//	4    30000   a pushed model of competition 99
//	5    30000   a pushed model of competition 99 (ties uid 4: the higher uid sorts first)
//	6    20000   uid 5's metadata string, copied
//	7    10000   a competition id that is not an integer
func TestHelpersOnLocalMetagraph(t *testing.T) {
	ctx := t.Context()
	lc, keys := openChain(t, localchain.SubnetConfig{Tempo: 10, MaxValidators: 1, NoWeightsRateLimit: true, NoCommitRateLimit: true},
		"//V0", "//M1", "//M2", "//M3", "//M4", "//M5", "//M6", "//M7")
	if err := lc.AddStake(ctx, keys[0].SS58(), key(t, "//Cold").SS58(), 1000e9); err != nil {
		t.Fatal(err)
	}
	client, endpoint := startHub(t, nil)
	pushed := map[int]*PushResult{}
	for _, uid := range []int{4, 5} {
		cfg := pushConfig(tinyModel(t, uint64(uid)), keys[uid])
		cfg.Repo = "miner/m" + string(rune('0'+uid))
		res, err := Push(ctx, client, lc, cfg)
		if err != nil {
			t.Fatal(err)
		}
		pushed[uid] = res
	}
	commit := func(uid int, data string) {
		t.Helper()
		if err := lc.Commit(ctx, keys[uid], netuid, data); err != nil {
			t.Fatal(err)
		}
	}
	other := chain.ModelID{Namespace: "other", Name: "big", CompetitionID: 2, Commit: strings.Repeat("a", 40), SecureHash: strings.Repeat("B", 43) + "="}
	commit(1, other.String())
	commit(2, "garbage")
	commit(6, pushed[5].Data)
	commit(7, "miner:x:"+strings.Repeat("c", 40)+":"+strings.Repeat("D", 43)+"=:nine")

	if _, err := lc.Advance(ctx, 10); err != nil { // the first epoch gives V0 its permit
		t.Fatal(err)
	}
	uids := []chain.UID{1, 2, 3, 4, 5, 6, 7}
	if err := lc.SetWeights(ctx, keys[0], netuid, uids, []uint16{60000, 50000, 40000, 30000, 30000, 20000, 10000}, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := lc.Advance(ctx, 12); err != nil {
		t.Fatal(err)
	}
	mg, err := lc.Metagraph(ctx, netuid)
	if err != nil {
		t.Fatal(err)
	}
	inc := mg.Incentive
	if !(inc[1] > inc[2] && inc[2] > inc[3] && inc[3] > inc[4] && inc[4] == inc[5] && inc[5] > inc[6] && inc[6] > inc[7] && inc[7] > inc[0]) {
		t.Fatalf("incentives %v are not ordered as the weights", inc)
	}

	s := Subnet{Chain: lc, NetUID: netuid}
	for _, tc := range []struct {
		comp competition.ID
		want chain.UID
		err  error
	}{
		{competition.Local, 5, nil},               // top five: 1 (comp 2), 2 (malformed), 3 (none), 5
		{competition.B3Model, 1, nil},             // uid 1's competition
		{competition.B14Model, 0, ErrNoBestModel}, // nobody's
		{competition.M772Model, 0, ErrNoBestModel},
	} {
		got, err := s.BestUID(ctx, tc.comp)
		if !errors.Is(err, tc.err) || (err == nil && got != tc.want) {
			t.Errorf("BestUID(%s) = %d, %v; want %d, %v", tc.comp, got, err, tc.want, tc.err)
		}
	}

	// Metadata: decoded, missing, malformed.
	m5, err := s.Miner(ctx, 5)
	if err != nil {
		t.Fatal(err)
	}
	if m5.Hotkey != keys[5].SS58() || m5.Metadata != pushed[5].Metadata {
		t.Errorf("Miner(5) = %+v, want the pushed %+v", m5, pushed[5].Metadata)
	}
	for _, uid := range []chain.UID{2, 3, 7} {
		if _, err := s.Miner(ctx, uid); !errors.Is(err, ErrNoMetadata) {
			t.Errorf("Miner(%d) error = %v, want ErrNoMetadata", uid, err)
		}
	}
	if _, err := s.Miner(ctx, 8); !errors.Is(err, chain.ErrNotFound) {
		t.Errorf("Miner(8) error = %v, want ErrNotFound", err)
	}

	// Repo URLs on the hub in use, and on Hugging Face as the reference prints them.
	if got, want := RepoURL(endpoint, m5.Metadata.ID), endpoint+"/miner/m5/tree/"+pushed[5].Metadata.ID.Commit; got != want {
		t.Errorf("RepoURL = %q, want %q", got, want)
	}
	if got, want := RepoURL("", other), "https://huggingface.co/other/big/tree/"+other.Commit; got != want || got != other.URL() {
		t.Errorf("RepoURL default = %q, want %q", got, want)
	}

	// Download: the committed revision, verified; a copied metadata string fails the secure
	// hash (it was salted with uid 5's hotkey) and leaves nothing behind.
	dir := filepath.Join(t.TempDir(), "best")
	d, err := s.Download(ctx, client, localSchedule(), 5, dir)
	if err != nil {
		t.Fatal(err)
	}
	if d.Hash != pushed[5].Hash || d.Facts.Architecture != "GPT2LMHeadModel" || d.Facts.Params != pushed[5].Facts.Params {
		t.Errorf("Download = %+v, want hash %s", d, pushed[5].Hash)
	}
	copied := filepath.Join(t.TempDir(), "copy")
	if _, err := s.Download(ctx, client, localSchedule(), 6, copied); !errors.Is(err, modelstore.ErrHashMismatch) {
		t.Errorf("Download of a copied commitment: %v, want ErrHashMismatch", err)
	}
	if _, err := os.Stat(copied); !os.IsNotExist(err) {
		t.Errorf("the copy's download was kept: %v", err)
	}
	if _, err := s.Download(ctx, client, localSchedule(), 1, filepath.Join(t.TempDir(), "x")); err == nil || !strings.Contains(err.Error(), "not active") {
		t.Errorf("Download of another competition's model: %v, want 'not active' in the local schedule", err)
	}
}

func TestParseCompetition(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want competition.ID
		ok   bool
	}{
		{"99", competition.Local, true}, {"LOCAL", competition.Local, true}, {"local", competition.Local, true},
		{"b3_model", competition.B3Model, true}, {" 2 ", competition.B3Model, true}, {"0", competition.B7Model, true},
		{"100", 0, false}, {"-1", 0, false}, {"nope", 0, false}, {"", 0, false}, {"ID(42)", 0, false},
	} {
		got, err := ParseCompetition(tc.in)
		if (err == nil) != tc.ok || (tc.ok && got != tc.want) {
			t.Errorf("ParseCompetition(%q) = %v, %v; want %v (ok %v)", tc.in, got, err, tc.want, tc.ok)
		}
	}
}
