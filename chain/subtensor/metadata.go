package subtensor

import (
	"bytes"
	"fmt"
	"strings"
)

// Metadata is the part of a runtime's metadata (frame-metadata V14, V15 or V16) this client
// uses: the portable type registry, pallets with their storage, calls and errors, the
// signed extensions of extrinsic v4, and (V15+) the runtime-API signatures.
// go-substrate-rpc-client decodes V14 only, and the runtime APIs the metagraph needs are
// described only from V15 on, hence this parser. The client asks nodes for V15, which every
// current runtime serves; V16 is parsed so newer runtimes' extension lists can be checked.
type Metadata struct {
	Version   int
	Types     []Type // indexed by type id
	Pallets   []Pallet
	Extrinsic ExtrinsicInfo
	APIs      []RuntimeAPI // V15 and later

	sizes []int // smallest encoding of each type, from computeSizes
}

// Kind is the shape of a registry type (scale-info TypeDef).
type Kind uint8

// The TypeDef variants, in scale-info's encoding order.
const (
	KindComposite Kind = iota
	KindVariant
	KindSequence
	KindArray
	KindTuple
	KindPrimitive
	KindCompact
	KindBitSequence
)

// Primitive is a scale-info primitive type, in its encoding order.
type Primitive uint8

// The primitives.
const (
	PrimBool Primitive = iota
	PrimChar
	PrimStr
	PrimU8
	PrimU16
	PrimU32
	PrimU64
	PrimU128
	PrimU256
	PrimI8
	PrimI16
	PrimI32
	PrimI64
	PrimI128
	PrimI256
)

// Type is one entry of the portable type registry.
type Type struct {
	Path     []string
	Kind     Kind
	Fields   []Field   // composite
	Variants []Variant // variant
	Elem     uint32    // sequence, array, compact
	Len      uint32    // array
	Tuple    []uint32  // tuple
	Prim     Primitive // primitive
}

// Field is a composite field or variant field.
type Field struct {
	Name     string // empty for tuple-like fields
	Type     uint32
	TypeName string
}

// Variant is one variant of an enum type.
type Variant struct {
	Name   string
	Index  uint8
	Fields []Field
}

// Hasher is a storage map key hasher, in frame-metadata's encoding order.
type Hasher uint8

// The storage hashers.
const (
	HasherBlake2_128 Hasher = iota
	HasherBlake2_256
	HasherBlake2_128Concat
	HasherTwox128
	HasherTwox256
	HasherTwox64Concat
	HasherIdentity
)

// Pallet is one pallet's metadata.
type Pallet struct {
	Name          string
	Index         uint8
	StoragePrefix string
	Storage       []StorageEntry
	HasCalls      bool
	Calls         uint32 // variant type of the pallet's calls
	HasErrors     bool
	Errors        uint32 // variant type of the pallet's errors
}

// StorageEntry is one storage item.
type StorageEntry struct {
	Name     string
	Optional bool // OptionQuery: absent keys read as None rather than Default
	Map      bool
	Hashers  []Hasher
	Key      uint32 // map key type (a tuple when there are several hashers)
	Value    uint32
	Default  []byte
}

// ExtrinsicInfo describes the extrinsic format.
type ExtrinsicInfo struct {
	Version    uint8
	Extensions []SignedExtension
}

// SignedExtension is one signed (transaction) extension: Type is what the extrinsic
// carries, Additional what only the signing payload carries.
type SignedExtension struct {
	Identifier string
	Type       uint32
	Additional uint32
}

// RuntimeAPI is one runtime API trait (V15).
type RuntimeAPI struct {
	Name    string
	Methods []APIMethod
}

// APIMethod is one runtime-API method: called as state_call("<API>_<method>", SCALE(inputs)).
type APIMethod struct {
	Name   string
	Inputs []Field
	Output uint32
}

const (
	maxTypes    = 1 << 16 // finney has about 1,000; a bound for hostile input
	maxTypeName = 1 << 10
)

// ParseMetadata decodes runtime metadata. b is either the raw "meta"-prefixed blob
// (state_getMetadata) or the Option<OpaqueMetadata> that Metadata_metadata_at_version
// returns.
func ParseMetadata(b []byte) (*Metadata, error) {
	magic := []byte("meta")
	if !bytes.HasPrefix(b, magic) {
		d := newDecoder(b)
		if d.u8() != 1 {
			return nil, fmt.Errorf("parse metadata: neither %q magic nor Some(OpaqueMetadata)", magic)
		}
		inner := d.byteVec()
		if err := d.done(); err != nil {
			return nil, fmt.Errorf("parse metadata: opaque wrapper: %w", err)
		}
		b = inner
		if !bytes.HasPrefix(b, magic) {
			return nil, fmt.Errorf("parse metadata: missing %q magic", magic)
		}
	}
	d := newDecoder(b[len(magic):])
	m := &Metadata{Version: int(d.u8())}
	if d.err == nil && (m.Version < 14 || m.Version > 16) {
		return nil, fmt.Errorf("parse metadata: version %d unsupported (want 14 to 16)", m.Version)
	}
	m.Types = parseRegistry(d)
	m.Pallets = parsePallets(d, m.Version)
	m.Extrinsic = parseExtrinsic(d, m.Version)
	if m.Version <= 15 {
		d.compact() // outer runtime type; V16 dropped it
	}
	if m.Version >= 15 {
		m.APIs = parseAPIs(d, m.Version)
		for range 3 { // outer enums: call, event, error
			d.compact()
		}
		n := d.length(2) // custom map: name -> (type, value)
		for range n {
			d.str()
			d.compact()
			d.byteVec()
		}
	}
	if err := d.done(); err != nil {
		return nil, fmt.Errorf("parse metadata v%d: %w", m.Version, err)
	}
	if err := m.check(); err != nil {
		return nil, fmt.Errorf("parse metadata v%d: %w", m.Version, err)
	}
	m.computeSizes()
	return m, nil
}

func skipDocs(d *decoder) {
	n := d.length(1)
	for range n {
		d.byteVec()
	}
}

// skipItemDeprecation skips a V16 ItemDeprecationInfo: NotDeprecated (0),
// DeprecatedWithoutNote (1) or Deprecated{note, since: Option<String>} (2).
func skipItemDeprecation(d *decoder) {
	switch tag := d.u8(); tag {
	case 0, 1:
	case 2:
		d.str()
		optStr(d)
	default:
		d.fail(fmt.Errorf("deprecation info tag %d", tag))
	}
}

// skipEnumDeprecation skips a V16 EnumDeprecationInfo: a map from variant index to
// DeprecatedWithoutNote (1) or Deprecated{note, since} (2).
func skipEnumDeprecation(d *decoder) {
	n := d.length(2)
	for range n {
		d.u8()
		switch tag := d.u8(); tag {
		case 1:
		case 2:
			d.str()
			optStr(d)
		default:
			d.fail(fmt.Errorf("variant deprecation tag %d", tag))
		}
	}
}

func optStr(d *decoder) string {
	if d.bool() {
		return d.str()
	}
	return ""
}

func parseFields(d *decoder) []Field {
	n := d.length(2)
	fs := make([]Field, 0, n)
	for range n {
		f := Field{Name: optStr(d), Type: uint32(d.compact())}
		f.TypeName = optStr(d)
		skipDocs(d)
		if d.err != nil {
			return nil
		}
		fs = append(fs, f)
	}
	return fs
}

func parseRegistry(d *decoder) []Type {
	n := d.length(4)
	if n > maxTypes {
		d.fail(fmt.Errorf("%d types exceed the bound %d", n, maxTypes))
		return nil
	}
	types := make([]Type, 0, n)
	for i := range n {
		if id := d.compact(); d.err == nil && id != uint64(i) {
			d.fail(fmt.Errorf("type id %d at position %d: ids must be dense", id, i))
		}
		var t Type
		np := d.length(1)
		for range np {
			seg := d.str()
			if len(seg) > maxTypeName {
				d.fail(fmt.Errorf("type path segment of %d bytes", len(seg)))
			}
			t.Path = append(t.Path, seg)
		}
		nparams := d.length(2)
		for range nparams { // type parameters: name, Option<type>
			d.str()
			if d.bool() {
				d.compact()
			}
		}
		t.Kind = Kind(d.u8())
		switch t.Kind {
		case KindComposite:
			t.Fields = parseFields(d)
		case KindVariant:
			nv := d.length(3)
			for range nv {
				v := Variant{Name: d.str()}
				v.Fields = parseFields(d)
				v.Index = d.u8()
				skipDocs(d)
				t.Variants = append(t.Variants, v)
				if d.err != nil {
					break
				}
			}
		case KindSequence, KindCompact:
			t.Elem = uint32(d.compact())
		case KindArray:
			t.Len = d.u32()
			t.Elem = uint32(d.compact())
		case KindTuple:
			nt := d.length(1)
			for range nt {
				t.Tuple = append(t.Tuple, uint32(d.compact()))
			}
		case KindPrimitive:
			t.Prim = Primitive(d.u8())
			if t.Prim > PrimI256 {
				d.fail(fmt.Errorf("type %d: primitive %d", i, t.Prim))
			}
		case KindBitSequence:
			d.compact()
			d.compact()
		default:
			d.fail(fmt.Errorf("type %d: type kind %d", i, t.Kind))
		}
		skipDocs(d)
		if d.err != nil {
			return nil
		}
		types = append(types, t)
	}
	return types
}

func parsePallets(d *decoder, version int) []Pallet {
	n := d.length(5)
	pallets := make([]Pallet, 0, n)
	for range n {
		p := Pallet{Name: d.str()}
		if d.bool() { // storage
			p.StoragePrefix = d.str()
			ne := d.length(4)
			for range ne {
				e := StorageEntry{Name: d.str(), Optional: d.u8() == 0}
				switch kind := d.u8(); kind {
				case 0:
					e.Value = uint32(d.compact())
				case 1:
					e.Map = true
					nh := d.length(1)
					for range nh {
						h := Hasher(d.u8())
						if h > HasherIdentity {
							d.fail(fmt.Errorf("storage %s.%s: hasher %d", p.Name, e.Name, h))
						}
						e.Hashers = append(e.Hashers, h)
					}
					e.Key = uint32(d.compact())
					e.Value = uint32(d.compact())
				default:
					d.fail(fmt.Errorf("storage %s.%s: entry kind %d", p.Name, e.Name, kind))
				}
				e.Default = d.byteVec()
				skipDocs(d)
				if version >= 16 {
					skipItemDeprecation(d)
				}
				if d.err != nil {
					return nil
				}
				p.Storage = append(p.Storage, e)
			}
		}
		if p.HasCalls = d.bool(); p.HasCalls {
			p.Calls = uint32(d.compact())
			if version >= 16 {
				skipEnumDeprecation(d)
			}
		}
		if d.bool() { // events
			d.compact()
			if version >= 16 {
				skipEnumDeprecation(d)
			}
		}
		nc := d.length(4)
		for range nc { // constants
			d.str()
			d.compact()
			d.byteVec()
			skipDocs(d)
			if version >= 16 {
				skipItemDeprecation(d)
			}
		}
		if p.HasErrors = d.bool(); p.HasErrors {
			p.Errors = uint32(d.compact())
			if version >= 16 {
				skipEnumDeprecation(d)
			}
		}
		if version >= 16 {
			na := d.length(3)
			for range na { // associated types: name, type, docs
				d.str()
				d.compact()
				skipDocs(d)
			}
			nv := d.length(36)
			for range nv { // view functions: id, name, inputs, output, docs, deprecation
				d.bytes(32)
				d.str()
				ni := d.length(2)
				for range ni {
					d.str()
					d.compact()
				}
				d.compact()
				skipDocs(d)
				skipItemDeprecation(d)
			}
		}
		p.Index = d.u8()
		if version >= 15 {
			skipDocs(d)
		}
		if version >= 16 {
			skipItemDeprecation(d)
		}
		if d.err != nil {
			return nil
		}
		pallets = append(pallets, p)
	}
	return pallets
}

func parseExtrinsic(d *decoder, version int) ExtrinsicInfo {
	var x ExtrinsicInfo
	if version >= 16 {
		return parseExtrinsicV16(d)
	}
	if version == 14 {
		d.compact() // extrinsic type
		x.Version = d.u8()
	} else {
		x.Version = d.u8()
		for range 4 { // address, call, signature, extra types
			d.compact()
		}
	}
	n := d.length(3)
	for range n {
		e := SignedExtension{Identifier: d.str(), Type: uint32(d.compact()), Additional: uint32(d.compact())}
		if d.err != nil {
			break
		}
		x.Extensions = append(x.Extensions, e)
	}
	return x
}

// parseExtrinsicV16 reads V16's extrinsic metadata: the supported extrinsic versions, the
// transaction extensions, and which of them apply per extension version. The client signs
// v4.
func parseExtrinsicV16(d *decoder) ExtrinsicInfo {
	var x ExtrinsicInfo
	versions := d.byteVec()
	for range 3 { // address, call, signature types
		d.compact()
	}
	byVersion := map[uint8][]uint64{}
	nb := d.length(2)
	for range nb {
		v := d.u8()
		ni := d.length(1)
		for range ni {
			byVersion[v] = append(byVersion[v], d.compact())
		}
	}
	var all []SignedExtension
	n := d.length(3)
	for range n {
		e := SignedExtension{Identifier: d.str(), Type: uint32(d.compact()), Additional: uint32(d.compact())}
		if d.err != nil {
			break
		}
		all = append(all, e)
	}
	if d.err != nil || !bytes.Contains(versions, []byte{4}) {
		return x
	}
	// The map is keyed by transaction-extension version, which v5 extrinsics carry in a
	// byte; v4 extrinsics have none and use version 0.
	x.Version = 4
	for _, i := range byVersion[0] {
		if i >= uint64(len(all)) {
			d.fail(fmt.Errorf("extrinsic v4 lists extension %d of %d", i, len(all)))
			return x
		}
		x.Extensions = append(x.Extensions, all[i])
	}
	return x
}

func parseAPIs(d *decoder, version int) []RuntimeAPI {
	n := d.length(3)
	apis := make([]RuntimeAPI, 0, n)
	for range n {
		a := RuntimeAPI{Name: d.str()}
		nm := d.length(4)
		for range nm {
			m := APIMethod{Name: d.str()}
			ni := d.length(2)
			for range ni {
				m.Inputs = append(m.Inputs, Field{Name: d.str(), Type: uint32(d.compact())})
			}
			m.Output = uint32(d.compact())
			skipDocs(d)
			if version >= 16 {
				skipItemDeprecation(d)
			}
			if d.err != nil {
				return nil
			}
			a.Methods = append(a.Methods, m)
		}
		skipDocs(d)
		if version >= 16 {
			d.compact() // api version
			skipItemDeprecation(d)
		}
		apis = append(apis, a)
	}
	return apis
}

// check verifies that every type id the client may follow is inside the registry, so
// resolution never indexes out of range.
func (m *Metadata) check() error {
	n := uint32(len(m.Types))
	bad := func(id uint32) bool { return id >= n }
	for i, t := range m.Types {
		ids := append([]uint32(nil), t.Tuple...)
		for _, f := range t.Fields {
			ids = append(ids, f.Type)
		}
		for _, v := range t.Variants {
			for _, f := range v.Fields {
				ids = append(ids, f.Type)
			}
		}
		if t.Kind == KindSequence || t.Kind == KindArray || t.Kind == KindCompact {
			ids = append(ids, t.Elem)
		}
		for _, id := range ids {
			if bad(id) {
				return fmt.Errorf("type %d refers to type %d of %d", i, id, n)
			}
		}
	}
	for _, p := range m.Pallets {
		if (p.HasCalls && bad(p.Calls)) || (p.HasErrors && bad(p.Errors)) {
			return fmt.Errorf("pallet %s refers to a type outside the registry", p.Name)
		}
		for _, e := range p.Storage {
			if bad(e.Value) || (e.Map && bad(e.Key)) {
				return fmt.Errorf("storage %s.%s refers to a type outside the registry", p.Name, e.Name)
			}
		}
	}
	for _, e := range m.Extrinsic.Extensions {
		if bad(e.Type) || bad(e.Additional) {
			return fmt.Errorf("signed extension %s refers to a type outside the registry", e.Identifier)
		}
	}
	for _, a := range m.APIs {
		for _, meth := range a.Methods {
			if bad(meth.Output) {
				return fmt.Errorf("runtime api %s_%s refers to a type outside the registry", a.Name, meth.Name)
			}
			for _, in := range meth.Inputs {
				if bad(in.Type) {
					return fmt.Errorf("runtime api %s_%s refers to a type outside the registry", a.Name, meth.Name)
				}
			}
		}
	}
	return nil
}

// Pallet returns the pallet named name.
func (m *Metadata) Pallet(name string) (*Pallet, error) {
	for i := range m.Pallets {
		if m.Pallets[i].Name == name {
			return &m.Pallets[i], nil
		}
	}
	return nil, fmt.Errorf("pallet %s not in metadata", name)
}

// StorageEntry returns pallet.item's storage entry.
func (m *Metadata) StorageEntry(pallet, item string) (*Pallet, *StorageEntry, error) {
	p, err := m.Pallet(pallet)
	if err != nil {
		return nil, nil, err
	}
	for i := range p.Storage {
		if p.Storage[i].Name == item {
			return p, &p.Storage[i], nil
		}
	}
	return nil, nil, fmt.Errorf("storage %s.%s not in metadata", pallet, item)
}

// Call returns pallet.call's pallet index, call index and argument fields.
func (m *Metadata) Call(pallet, call string) (uint8, uint8, []Field, error) {
	p, err := m.Pallet(pallet)
	if err != nil {
		return 0, 0, nil, err
	}
	if !p.HasCalls {
		return 0, 0, nil, fmt.Errorf("pallet %s has no calls", pallet)
	}
	t := &m.Types[p.Calls]
	for _, v := range t.Variants {
		if v.Name == call {
			return p.Index, v.Index, v.Fields, nil
		}
	}
	return 0, 0, nil, fmt.Errorf("call %s.%s not in metadata", pallet, call)
}

// API returns the runtime-API method called as "<api>_<method>".
func (m *Metadata) API(api, method string) (*APIMethod, error) {
	for i := range m.APIs {
		if m.APIs[i].Name != api {
			continue
		}
		for j := range m.APIs[i].Methods {
			if m.APIs[i].Methods[j].Name == method {
				return &m.APIs[i].Methods[j], nil
			}
		}
	}
	return nil, fmt.Errorf("runtime api %s_%s not in metadata v%d", api, method, m.Version)
}

// TypeName renders a type id for error messages: its path, or its shape.
func (m *Metadata) TypeName(id uint32) string { return m.typeName(id, 0) }

func (m *Metadata) typeName(id uint32, depth int) string {
	if int(id) >= len(m.Types) || depth > 8 {
		return fmt.Sprintf("type#%d", id)
	}
	t := &m.Types[id]
	if len(t.Path) > 0 {
		return strings.Join(t.Path, "::")
	}
	switch t.Kind {
	case KindPrimitive:
		return [...]string{"bool", "char", "str", "u8", "u16", "u32", "u64", "u128", "u256", "i8", "i16", "i32", "i64", "i128", "i256"}[t.Prim]
	case KindSequence:
		return "Vec<" + m.typeName(t.Elem, depth+1) + ">"
	case KindCompact:
		return "Compact<" + m.typeName(t.Elem, depth+1) + ">"
	case KindArray:
		return fmt.Sprintf("[%s;%d]", m.typeName(t.Elem, depth+1), t.Len)
	case KindTuple:
		parts := make([]string, len(t.Tuple))
		for i, e := range t.Tuple {
			parts[i] = m.typeName(e, depth+1)
		}
		return "(" + strings.Join(parts, ",") + ")"
	}
	return fmt.Sprintf("type#%d", id)
}
