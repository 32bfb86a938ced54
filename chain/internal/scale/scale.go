// Package scale holds the SCALE (Substrate's codec) primitives shared by the chain
// backends: compact integers, which prefix every Vec.
package scale

import (
	"encoding/binary"
	"errors"
	"math/bits"
)

// ErrShort is returned when input ends before the value does.
var ErrShort = errors.New("unexpected end of input")

// AppendCompact appends v in SCALE compact form.
func AppendCompact(b []byte, v uint64) []byte {
	switch {
	case v < 1<<6:
		return append(b, byte(v<<2))
	case v < 1<<14:
		return binary.LittleEndian.AppendUint16(b, uint16(v<<2|1))
	case v < 1<<30:
		return binary.LittleEndian.AppendUint32(b, uint32(v<<2|2))
	default:
		n := (bits.Len64(v) + 7) / 8
		b = append(b, byte((n-4)<<2|3))
		for range n {
			b = append(b, byte(v))
			v >>= 8
		}
		return b
	}
}

// ErrNonCanonical: a compact integer in a longer form than its value needs, which
// parity-scale-codec (and so the chain) refuses.
var ErrNonCanonical = errors.New("compact integer not in its shortest form")

// ReadCompact reads a compact integer of at most 64 bits from the front of b and returns it
// with the number of bytes it took.
func ReadCompact(b []byte) (v uint64, n int, err error) {
	if len(b) == 0 {
		return 0, 0, ErrShort
	}
	var least uint64 // the smallest value the form may carry
	switch b[0] & 3 {
	case 0:
		return uint64(b[0] >> 2), 1, nil
	case 1:
		if len(b) < 2 {
			return 0, 0, ErrShort
		}
		v, n, least = uint64(binary.LittleEndian.Uint16(b)>>2), 2, 1<<6
	case 2:
		if len(b) < 4 {
			return 0, 0, ErrShort
		}
		v, n, least = uint64(binary.LittleEndian.Uint32(b)>>2), 4, 1<<14
	default:
		k := int(b[0]>>2) + 4
		if k > 8 {
			return 0, 0, errors.New("compact integer wider than 64 bits")
		}
		if len(b) < 1+k {
			return 0, 0, ErrShort
		}
		for i := k; i >= 1; i-- {
			v = v<<8 | uint64(b[i])
		}
		if b[k] == 0 { // a shorter big-integer form would do
			return 0, 0, ErrNonCanonical
		}
		n, least = 1+k, 1<<30
	}
	if v < least {
		return 0, 0, ErrNonCanonical
	}
	return v, n, nil
}
