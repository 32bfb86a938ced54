package timelock

import (
	"crypto/rand"
	"testing"
	"time"

	"github.com/pretrain/pretrain/chain"
)

// BenchmarkSealWeights times a validator's commit of 256 weights (round choice, payload,
// encryption): what SetWeights adds on a commit-reveal subnet.
func BenchmarkSealWeights(b *testing.B) {
	k := testKey()
	beacon := Beacon{PublicKey: k.PublicKey(), Schedule: QuicknetSchedule}
	p := WeightsPayload{UIDs: make([]chain.UID, 256), Values: make([]uint16, 256)}
	at := CommitTime{Now: time.Now(), BlockTime: 12 * time.Second, Block: 1000, NetUID: 9, Tempo: 360, RevealPeriod: 1}
	for b.Loop() {
		if _, _, err := SealWeights(beacon, at, p, rand.Reader); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReveal times the chain's side of one reveal: the round's signature and the
// decryption.
func BenchmarkReveal(b *testing.B) {
	k := testKey()
	p := WeightsPayload{UIDs: make([]chain.UID, 256), Values: make([]uint16, 256)}
	ct, err := Encrypt(k.PublicKey(), 77, p.Encode(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		sig, err := k.Sign(77)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Decrypt(ct, sig); err != nil {
			b.Fatal(err)
		}
	}
}
