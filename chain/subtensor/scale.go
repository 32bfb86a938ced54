package subtensor

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
)

// errShort is returned when SCALE input ends before the value does.
var errShort = errors.New("unexpected end of input")

// decoder reads SCALE values from untrusted bytes. The first error sticks: later reads return
// zero values, so callers check err once after a group of reads. Every length prefix is
// bounded by the bytes that remain, so hostile input cannot make it allocate more than its
// own size.
type decoder struct {
	b      []byte
	off    int
	err    error
	budget int // decode steps left (DecodeValue)
}

func newDecoder(b []byte) *decoder { return &decoder{b: b} }

func (d *decoder) fail(err error) {
	if d.err == nil {
		d.err = fmt.Errorf("offset %d: %w", d.off, err)
	}
}

func (d *decoder) remaining() int { return len(d.b) - d.off }

func (d *decoder) bytes(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || n > d.remaining() {
		d.fail(fmt.Errorf("need %d bytes, have %d: %w", n, d.remaining(), errShort))
		return nil
	}
	b := d.b[d.off : d.off+n]
	d.off += n
	return b
}

func (d *decoder) u8() uint8 {
	b := d.bytes(1)
	if b == nil {
		return 0
	}
	return b[0]
}

func (d *decoder) u16() uint16 {
	b := d.bytes(2)
	if b == nil {
		return 0
	}
	return binary.LittleEndian.Uint16(b)
}

func (d *decoder) u32() uint32 {
	b := d.bytes(4)
	if b == nil {
		return 0
	}
	return binary.LittleEndian.Uint32(b)
}

func (d *decoder) u64() uint64 {
	b := d.bytes(8)
	if b == nil {
		return 0
	}
	return binary.LittleEndian.Uint64(b)
}

func (d *decoder) bool() bool {
	switch v := d.u8(); v {
	case 0:
		return false
	case 1:
		return true
	default:
		d.fail(fmt.Errorf("bool byte %#x", v))
		return false
	}
}

// compactBig reads a SCALE compact integer of any width (big-integer mode carries up to 67
// bytes).
func (d *decoder) compactBig() *big.Int {
	first := d.u8()
	if d.err != nil {
		return new(big.Int)
	}
	switch first & 3 {
	case 0:
		return big.NewInt(int64(first >> 2))
	case 1:
		second := d.u8()
		return big.NewInt(int64(uint16(first)|uint16(second)<<8) >> 2)
	case 2:
		rest := d.bytes(3)
		if rest == nil {
			return new(big.Int)
		}
		v := uint32(first) | uint32(rest[0])<<8 | uint32(rest[1])<<16 | uint32(rest[2])<<24
		return new(big.Int).SetUint64(uint64(v >> 2))
	default:
		n := int(first>>2) + 4
		le := d.bytes(n)
		if le == nil {
			return new(big.Int)
		}
		be := make([]byte, n)
		for i, c := range le {
			be[n-1-i] = c
		}
		return new(big.Int).SetBytes(be)
	}
}

// compact reads a compact integer that must fit in 64 bits.
func (d *decoder) compact() uint64 {
	v := d.compactBig()
	if d.err != nil {
		return 0
	}
	if !v.IsUint64() {
		d.fail(fmt.Errorf("compact integer %v exceeds 64 bits", v))
		return 0
	}
	return v.Uint64()
}

// length reads a compact length prefix and checks that at least minElem*n bytes remain, so a
// forged length cannot drive a huge allocation.
func (d *decoder) length(minElem int) int {
	n := d.compact()
	if d.err != nil {
		return 0
	}
	if minElem < 1 {
		minElem = 1
	}
	if n > uint64(d.remaining()/minElem) {
		d.fail(fmt.Errorf("length %d exceeds the %d bytes left: %w", n, d.remaining(), errShort))
		return 0
	}
	return int(n)
}

// byteVec reads a compact-length-prefixed byte string (Vec<u8>, Bytes, String).
func (d *decoder) byteVec() []byte {
	n := d.length(1)
	return d.bytes(n)
}

func (d *decoder) str() string { return string(d.byteVec()) }

// done reports an error if bytes remain after a value that should fill the input.
func (d *decoder) done() error {
	if d.err != nil {
		return d.err
	}
	if d.remaining() != 0 {
		return fmt.Errorf("%d trailing bytes after offset %d", d.remaining(), d.off)
	}
	return nil
}

func appendU16(b []byte, v uint16) []byte { return binary.LittleEndian.AppendUint16(b, v) }
func appendU32(b []byte, v uint32) []byte { return binary.LittleEndian.AppendUint32(b, v) }
func appendU64(b []byte, v uint64) []byte { return binary.LittleEndian.AppendUint64(b, v) }
