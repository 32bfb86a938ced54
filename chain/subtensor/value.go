package subtensor

import (
	"errors"
	"fmt"
	"math/big"
	"unicode/utf8"
)

// Decoding by type id walks the metadata's type registry, so values whose layout changes
// between runtimes (runtime-API results, storage values, events) are read by field name
// rather than by a hard-coded layout. The Go values produced are:
//
//	bool; uint64 (u8..u64, compacts that fit); int64 (i8..i64); *big.Int (u128, u256, i128,
//	i256); string (str, char); []byte (Vec<u8> and [u8; N]); []any (other sequences, arrays,
//	tuples, and composites of several unnamed fields); map[string]any (composites with named
//	fields); Enum (variants, Option and Result included). A composite with one unnamed field
//	is that field's value (newtypes such as NetUid(u16) or AccountId32([u8; 32])).

// Enum is a decoded variant. Value is nil for a unit variant, the field's value for one
// unnamed field, a map for named fields and a []any for several unnamed fields.
type Enum struct {
	Name  string
	Index uint8
	Value any
}

// maxDepth bounds type nesting, so recursive or hostile type graphs cannot overflow the stack.
const maxDepth = 48

var errDepth = errors.New("type nesting too deep")

// DecodeValue decodes b, which must hold exactly one value of type id.
func (m *Metadata) DecodeValue(id uint32, b []byte) (any, error) {
	d := newDecoder(b)
	d.budget = 1<<20 + 8*len(b)
	v := m.decode(d, id, 0)
	if err := d.done(); err != nil {
		return nil, fmt.Errorf("decode %s: %w", m.TypeName(id), err)
	}
	return v, nil
}

func (m *Metadata) decode(d *decoder, id uint32, depth int) any {
	if d.err != nil {
		return nil
	}
	if depth > maxDepth {
		d.fail(errDepth)
		return nil
	}
	// Zero-sized types consume no input, so a hostile type graph could make decoding
	// exponential without this bound on the work per input byte.
	if d.budget--; d.budget < 0 {
		d.fail(errors.New("value too complex for its size"))
		return nil
	}
	if int(id) >= len(m.Types) {
		d.fail(fmt.Errorf("type %d outside the registry", id))
		return nil
	}
	t := &m.Types[id]
	switch t.Kind {
	case KindPrimitive:
		return decodePrimitive(d, t.Prim)
	case KindCompact:
		v := d.compactBig()
		if v.IsUint64() {
			return v.Uint64()
		}
		return v
	case KindSequence:
		if m.isU8(t.Elem) {
			return d.byteVec()
		}
		n := d.length(m.minSize(t.Elem))
		return m.decodeList(d, n, t.Elem, depth)
	case KindArray:
		if m.isU8(t.Elem) {
			return d.bytes(int(min(t.Len, 1<<30)))
		}
		if d.err == nil && uint64(t.Len)*uint64(m.minSize(t.Elem)) > uint64(d.remaining()) {
			d.fail(fmt.Errorf("array of %d exceeds the %d bytes left: %w", t.Len, d.remaining(), errShort))
			return nil
		}
		return m.decodeList(d, int(t.Len), t.Elem, depth)
	case KindTuple:
		out := make([]any, 0, len(t.Tuple))
		for _, e := range t.Tuple {
			out = append(out, m.decode(d, e, depth+1))
		}
		return out
	case KindComposite:
		return m.decodeFields(d, t.Fields, depth)
	case KindVariant:
		idx := d.u8()
		if d.err != nil {
			return nil
		}
		for i := range t.Variants {
			v := &t.Variants[i]
			if v.Index == idx {
				var val any
				if len(v.Fields) > 0 {
					val = m.decodeFields(d, v.Fields, depth)
				}
				return Enum{Name: v.Name, Index: idx, Value: val}
			}
		}
		d.fail(fmt.Errorf("%s: no variant with index %d", m.TypeName(id), idx))
		return nil
	default:
		d.fail(fmt.Errorf("%s: bit sequences are not supported", m.TypeName(id)))
		return nil
	}
}

func (m *Metadata) decodeList(d *decoder, n int, elem uint32, depth int) []any {
	out := make([]any, 0, min(n, d.remaining()+1))
	for range n {
		out = append(out, m.decode(d, elem, depth+1))
		if d.err != nil {
			return nil
		}
	}
	return out
}

func (m *Metadata) decodeFields(d *decoder, fs []Field, depth int) any {
	if len(fs) == 1 && fs[0].Name == "" {
		return m.decode(d, fs[0].Type, depth+1)
	}
	if len(fs) > 0 && fs[0].Name == "" {
		out := make([]any, 0, len(fs))
		for _, f := range fs {
			out = append(out, m.decode(d, f.Type, depth+1))
		}
		return out
	}
	out := make(map[string]any, len(fs))
	for _, f := range fs {
		out[f.Name] = m.decode(d, f.Type, depth+1)
	}
	return out
}

func decodePrimitive(d *decoder, p Primitive) any {
	switch p {
	case PrimBool:
		return d.bool()
	case PrimChar:
		r := rune(d.u32())
		if d.err == nil && !utf8.ValidRune(r) {
			d.fail(fmt.Errorf("char %#x", uint32(r)))
		}
		return string(r)
	case PrimStr:
		return d.str()
	case PrimU8:
		return uint64(d.u8())
	case PrimU16:
		return uint64(d.u16())
	case PrimU32:
		return uint64(d.u32())
	case PrimU64:
		return d.u64()
	case PrimI8:
		return int64(int8(d.u8()))
	case PrimI16:
		return int64(int16(d.u16()))
	case PrimI32:
		return int64(int32(d.u32()))
	case PrimI64:
		return int64(d.u64())
	}
	n := map[Primitive]int{PrimU128: 16, PrimU256: 32, PrimI128: 16, PrimI256: 32}[p]
	le := d.bytes(n)
	if le == nil {
		return nil
	}
	be := make([]byte, n)
	for i, c := range le {
		be[n-1-i] = c
	}
	v := new(big.Int).SetBytes(be)
	if (p == PrimI128 || p == PrimI256) && be[0]&0x80 != 0 {
		v.Sub(v, new(big.Int).Lsh(big.NewInt(1), uint(8*n)))
	}
	return v
}

// isU8 reports whether id is the u8 primitive.
func (m *Metadata) isU8(id uint32) bool {
	return int(id) < len(m.Types) && m.Types[id].Kind == KindPrimitive && m.Types[id].Prim == PrimU8
}

// minSize is a lower bound on the encoded size of a value of type id, used to bound
// sequence lengths against the input left. It is at least 1 so that a forged length of
// zero-sized elements is still bounded by the input size.
func (m *Metadata) minSize(id uint32) int {
	return max(1, m.size(id))
}

// size is the smallest encoding of a value of type id (computed once, in computeSizes).
func (m *Metadata) size(id uint32) int {
	if int(id) >= len(m.sizes) {
		return 0
	}
	return m.sizes[id]
}

// zeroSized reports whether values of type id always encode to no bytes (the unit type and
// empty structs): what a signed extension without extra or additional data carries.
func (m *Metadata) zeroSized(id uint32) bool {
	if int(id) >= len(m.Types) {
		return false
	}
	return m.size(id) == 0
}

// computeSizes fills m.sizes by memoized depth-first search, so hostile type graphs (deep,
// wide or cyclic) cost time linear in the registry. A type on a cycle counts as size 0: a
// lower bound, which is all the length checks need.
func (m *Metadata) computeSizes() {
	const unknown, visiting = -1, -2
	m.sizes = make([]int, len(m.Types))
	for i := range m.sizes {
		m.sizes[i] = unknown
	}
	var visit func(id uint32) int
	visit = func(id uint32) int {
		if int(id) >= len(m.Types) {
			return 0
		}
		switch m.sizes[id] {
		case visiting:
			return 0
		case unknown:
		default:
			return m.sizes[id]
		}
		m.sizes[id] = visiting
		t := &m.Types[id]
		n := 0
		switch t.Kind {
		case KindPrimitive:
			n = [...]int{1, 4, 1, 1, 2, 4, 8, 16, 32, 1, 2, 4, 8, 16, 32}[t.Prim]
		case KindCompact, KindSequence, KindVariant, KindBitSequence:
			n = 1
		case KindArray:
			n = int(min(uint64(t.Len)*uint64(visit(t.Elem)), 1<<30))
		case KindTuple:
			for _, e := range t.Tuple {
				n = min(n+visit(e), 1<<30)
			}
		case KindComposite:
			for _, f := range t.Fields {
				n = min(n+visit(f.Type), 1<<30)
			}
		}
		m.sizes[id] = n
		return n
	}
	for i := range m.Types {
		visit(uint32(i))
	}
}

// Accessors over decoded values. Each names what it expected, so a runtime whose layout
// changed fails with a clear error instead of silently reading zeros.

func field(v any, name string) (any, error) {
	s, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("field %s: value is %T, not a struct", name, v)
	}
	f, ok := s[name]
	if !ok {
		return nil, fmt.Errorf("field %s: missing", name)
	}
	return f, nil
}

func asUint(v any) (uint64, error) {
	switch x := v.(type) {
	case uint64:
		return x, nil
	case *big.Int:
		if x.IsUint64() {
			return x.Uint64(), nil
		}
		return 0, fmt.Errorf("integer %v exceeds 64 bits", x)
	}
	return 0, fmt.Errorf("value is %T, not an unsigned integer", v)
}

func asBool(v any) (bool, error) {
	b, ok := v.(bool)
	if !ok {
		return false, fmt.Errorf("value is %T, not a bool", v)
	}
	return b, nil
}

func asBytes(v any) ([]byte, error) {
	b, ok := v.([]byte)
	if !ok {
		return nil, fmt.Errorf("value is %T, not bytes", v)
	}
	return b, nil
}

func asAccount(v any) ([32]byte, error) {
	var a [32]byte
	b, err := asBytes(v)
	if err != nil {
		return a, err
	}
	if len(b) != len(a) {
		return a, fmt.Errorf("account id of %d bytes, want 32", len(b))
	}
	copy(a[:], b)
	return a, nil
}

func asList(v any) ([]any, error) {
	switch x := v.(type) {
	case []any:
		return x, nil
	case []byte: // a sequence of u8 decoded as bytes
		out := make([]any, len(x))
		for i, c := range x {
			out[i] = uint64(c)
		}
		return out, nil
	}
	return nil, fmt.Errorf("value is %T, not a list", v)
}

// asOption unwraps an Option: (value, true) for Some, (nil, false) for None.
func asOption(v any) (any, bool, error) {
	e, ok := v.(Enum)
	if !ok {
		return nil, false, fmt.Errorf("value is %T, not an Option", v)
	}
	switch e.Name {
	case "None":
		return nil, false, nil
	case "Some":
		return e.Value, true, nil
	}
	return nil, false, fmt.Errorf("variant %s, not an Option", e.Name)
}
