package timelock

import (
	"bytes"
	"github.com/pretrain/pretrain/chain"
	"testing"
)

// FuzzDecrypt: untrusted ciphertexts never panic, and whatever opens re-encrypts to
// something that opens to the same plaintext.
func FuzzDecrypt(f *testing.F) {
	k := testKey()
	ct, err := Encrypt(k.PublicKey(), 5, []byte("seed"), &detRand{seed: "fuzz"})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(ct)
	f.Add(ct[:100])
	f.Add([]byte{})
	sig, _ := k.Sign(5)
	f.Fuzz(func(t *testing.T, b []byte) {
		msg, err := Decrypt(b, sig)
		if err != nil {
			return
		}
		again, err := Encrypt(k.PublicKey(), 5, msg, &detRand{seed: "again"})
		if err != nil {
			t.Fatal(err)
		}
		if back, err := Decrypt(again, sig); err != nil || !bytes.Equal(back, msg) {
			t.Fatalf("re-encrypted plaintext %x opened to %x, %v", msg, back, err)
		}
	})
}

// FuzzDecodeWeightsPayload: untrusted payloads never panic, and what decodes re-encodes to
// the same bytes.
func FuzzDecodeWeightsPayload(f *testing.F) {
	f.Add(WeightsPayload{UIDs: []chain.UID{1, 2}, Values: []uint16{3, 4}, VersionKey: 9}.Encode())
	f.Add([]byte{0x80})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := DecodeWeightsPayload(b)
		if err != nil {
			return
		}
		if !bytes.Equal(p.Encode(), b) {
			t.Fatalf("%x decoded to %+v, which encodes to %x", b, p, p.Encode())
		}
	})
}
