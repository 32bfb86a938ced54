package subtensor

import (
	"fmt"
	"math/bits"
	"unicode/utf8"

	"github.com/pretrain/pretrain/chain"
	"github.com/pretrain/pretrain/chain/internal/scale"
)

// Calls are encoded by hand, after checking their argument names and shapes against the
// runtime's metadata, so a runtime that changed a call fails with a clear error instead of
// sending bytes the chain would misread.

// unwrap follows newtypes (composites of one field) to the underlying type.
func (m *Metadata) unwrap(id uint32) *Type {
	for range maxDepth {
		if int(id) >= len(m.Types) {
			return nil
		}
		t := &m.Types[id]
		if t.Kind != KindComposite || len(t.Fields) != 1 {
			return t
		}
		id = t.Fields[0].Type
	}
	return nil
}

func (m *Metadata) isPrim(id uint32, p Primitive) bool {
	t := m.unwrap(id)
	return t != nil && t.Kind == KindPrimitive && t.Prim == p
}

func (m *Metadata) isSeqOf(id uint32, p Primitive) bool {
	t := m.unwrap(id)
	return t != nil && t.Kind == KindSequence && m.isPrim(t.Elem, p)
}

// callPrefix checks pallet.call's arguments against want (name and a shape check each) and
// returns the call's two index bytes.
func (m *Metadata) callPrefix(pallet, call string, want []string, check []func(uint32) bool) ([]byte, error) {
	pi, ci, fields, err := m.Call(pallet, call)
	if err != nil {
		return nil, err
	}
	if len(fields) != len(want) {
		return nil, fmt.Errorf("call %s.%s has %d arguments, the client knows %d", pallet, call, len(fields), len(want))
	}
	for i, f := range fields {
		if f.Name != want[i] || !check[i](f.Type) {
			return nil, fmt.Errorf("call %s.%s argument %d is %s: %s, the client expects %s", pallet, call, i, f.Name, m.TypeName(f.Type), want[i])
		}
	}
	return []byte{pi, ci}, nil
}

// setWeightsCall encodes SubtensorModule.set_weights(netuid, dests, weights, version_key).
func (m *Metadata) setWeightsCall(netuid uint16, uids []chain.UID, weights []uint16, versionKey uint64) ([]byte, error) {
	if len(uids) != len(weights) {
		return nil, fmt.Errorf("set weights: %d uids, %d weights: %w", len(uids), len(weights), chain.ErrInvalid)
	}
	u16 := func(id uint32) bool { return m.isPrim(id, PrimU16) }
	vec16 := func(id uint32) bool { return m.isSeqOf(id, PrimU16) }
	u64 := func(id uint32) bool { return m.isPrim(id, PrimU64) }
	b, err := m.callPrefix("SubtensorModule", "set_weights",
		[]string{"netuid", "dests", "weights", "version_key"}, []func(uint32) bool{u16, vec16, vec16, u64})
	if err != nil {
		return nil, fmt.Errorf("set weights: %w", err)
	}
	b = appendU16(b, netuid)
	b = scale.AppendCompact(b, uint64(len(uids)))
	for _, u := range uids {
		b = appendU16(b, uint16(u))
	}
	b = scale.AppendCompact(b, uint64(len(weights)))
	for _, w := range weights {
		b = appendU16(b, w)
	}
	return appendU64(b, versionKey), nil
}

// setCommitmentCall encodes Commitments.set_commitment(netuid, {fields: [Raw<len>(data)]}),
// the call bittensor's publish_metadata sends.
func (m *Metadata) setCommitmentCall(netuid uint16, data string) ([]byte, error) {
	if len(data) > chain.MaxCommitmentBytes {
		return nil, fmt.Errorf("set commitment: %d bytes exceed %d: %w", len(data), chain.MaxCommitmentBytes, chain.ErrInvalid)
	}
	if !utf8.ValidString(data) {
		return nil, fmt.Errorf("set commitment: data is not valid utf-8: %w", chain.ErrInvalid)
	}
	rawName := fmt.Sprintf("Raw%d", len(data))
	rawIndex := -1
	info := func(id uint32) bool {
		if int(id) >= len(m.Types) {
			return false
		}
		t := &m.Types[id] // not unwrapped: CommitmentInfo is a one-field struct
		if t.Kind != KindComposite || len(t.Fields) != 1 || t.Fields[0].Name != "fields" {
			return false
		}
		seq := m.unwrap(t.Fields[0].Type)
		if seq == nil || seq.Kind != KindSequence {
			return false
		}
		dataT := m.unwrap(seq.Elem)
		if dataT == nil || dataT.Kind != KindVariant {
			return false
		}
		for _, v := range dataT.Variants {
			if v.Name == rawName && len(v.Fields) == 1 {
				arr := m.unwrap(v.Fields[0].Type)
				if arr != nil && arr.Kind == KindArray && int(arr.Len) == len(data) && m.isU8(arr.Elem) {
					rawIndex = int(v.Index)
				}
			}
		}
		return rawIndex >= 0
	}
	b, err := m.callPrefix("Commitments", "set_commitment", []string{"netuid", "info"},
		[]func(uint32) bool{func(id uint32) bool { return m.isPrim(id, PrimU16) }, info})
	if err != nil {
		return nil, fmt.Errorf("set commitment: %w", err)
	}
	b = appendU16(b, netuid)
	b = scale.AppendCompact(b, 1)
	b = append(b, byte(rawIndex))
	return append(b, data...), nil
}

// txParams are the values the signed extensions put into an extrinsic and its payload.
type txParams struct {
	SpecVersion, TxVersion uint32
	Genesis                chain.Hash
	Nonce                  uint64
	Tip                    uint64
	Period                 uint64     // mortality period in blocks (0: immortal)
	Current                uint64     // block the era starts from
	Birth                  chain.Hash // hash of that block (genesis when immortal)
}

// mortalEra encodes a mortal era as Substrate's Era::mortal(period, current) does.
func mortalEra(period, current uint64) []byte {
	period = min(max(period, 4), 1<<16)
	period = 1 << (64 - bits.LeadingZeros64(period-1)) // next power of two
	phase := current % period
	quantize := max(period>>12, 1)
	quantized := phase / quantize * quantize
	tz := uint64(bits.TrailingZeros64(period))
	enc := min(max(tz-1, 1), 15) | (quantized/quantize)<<4
	return appendU16(nil, uint16(enc))
}

// extensions encodes the "extra" (carried in the extrinsic) and "additional signed" (only
// in the signing payload) data of the runtime's signed extensions, in metadata order.
// Extensions the client does not know must carry no data (all of subtensor's own do not);
// otherwise the client refuses to sign rather than produce a transaction the chain rejects.
func (m *Metadata) extensions(p txParams) (extra, additional []byte, err error) {
	era := []byte{0}
	if p.Period > 0 {
		era = mortalEra(p.Period, p.Current)
	}
	for _, e := range m.Extrinsic.Extensions {
		var ex, add []byte
		switch e.Identifier {
		case "CheckSpecVersion":
			add = appendU32(nil, p.SpecVersion)
		case "CheckTxVersion":
			add = appendU32(nil, p.TxVersion)
		case "CheckGenesis":
			add = p.Genesis[:]
		case "CheckMortality", "CheckEra":
			ex, add = era, p.Birth[:]
		case "CheckNonce":
			ex = scale.AppendCompact(nil, p.Nonce)
		case "ChargeTransactionPayment":
			ex = scale.AppendCompact(nil, p.Tip)
		case "CheckMetadataHash":
			ex, add = []byte{0}, []byte{0} // mode Disabled, no metadata hash
		}
		if (len(ex) == 0) != m.zeroSized(e.Type) || (len(add) == 0) != m.zeroSized(e.Additional) {
			return nil, nil, fmt.Errorf("signed extension %s carries %s / %s, which this client cannot fill",
				e.Identifier, m.TypeName(e.Type), m.TypeName(e.Additional))
		}
		extra = append(extra, ex...)
		additional = append(additional, add...)
	}
	return extra, additional, nil
}

// signedExtrinsic builds a signed v4 extrinsic of call, signed by s with an sr25519
// MultiSignature from a MultiAddress::Id. It returns the extrinsic's SCALE bytes (length
// prefix included) and the payload that was signed.
func (m *Metadata) signedExtrinsic(call []byte, s chain.Signer, p txParams) (xt, payload []byte, err error) {
	if m.Extrinsic.Version != 4 {
		return nil, nil, fmt.Errorf("extrinsic version %d unsupported (want 4)", m.Extrinsic.Version)
	}
	extra, additional, err := m.extensions(p)
	if err != nil {
		return nil, nil, err
	}
	payload = append(append(append([]byte(nil), call...), extra...), additional...)
	msg := payload
	if len(msg) > 256 { // Substrate signs the blake2_256 of payloads longer than 256 bytes
		h := blake2_256(msg)
		msg = h[:]
	}
	sig, err := s.Sign(msg)
	if err != nil {
		return nil, nil, fmt.Errorf("sign extrinsic: %w", err)
	}
	if len(sig) != 64 {
		return nil, nil, fmt.Errorf("sign extrinsic: %d-byte signature, want 64", len(sig))
	}
	pub := s.PublicKey()
	body := make([]byte, 0, 1+33+65+len(extra)+len(call))
	body = append(body, 0x84, 0x00) // signed, version 4; MultiAddress::Id
	body = append(body, pub[:]...)
	body = append(body, 0x01) // MultiSignature::Sr25519
	body = append(body, sig...)
	body = append(body, extra...)
	body = append(body, call...)
	return append(scale.AppendCompact(nil, uint64(len(body))), body...), payload, nil
}
