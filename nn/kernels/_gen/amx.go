package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/ir"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// amxTileBF16: the AMX-BF16 tile loop for one mr x nr tile. Go's assembler and avo know no
// AMX instruction, so LDTILECFG, TILEZERO, TILELOADD, TDPBF16PS, TILESTORED and TILERELEASE
// are bytes (encoders below), with physical general registers since the bytes name them.
//
// The configuration (built by package kernels) gives tmm0 and tmm1 the two 12 x 16 float32
// halves of the result, tmm2 12 rows of A (16 pairs each), tmm3 and tmm4 16 pairs of B's
// columns 0–15 and 16–31. A is row-major, kp words a row; B is a packed panel, 32 words a
// pair (128 bytes), so a B tile is 64 bytes of 16 consecutive pair rows. kp is a positive
// multiple of 16. The result is stored to out (12 x 32 float32) and the tiles released, so
// no tile state outlives the call.
func amxTileBF16() {
	TEXT("amxTileBF16", NOSPLIT, "func(cfg *[64]byte, kp int, a, b *uint32, out *[384]float32)")
	Pragma("noescape")
	Doc("amxTileBF16 computes the 12x32 product of a (12 rows of kp words) and the pair-interleaved panel b into out with AMX tiles configured by cfg.")
	const rax, rdx, rbx, rsi, rdi = 0, 2, 3, 6, 7 // register numbers in the encodings
	Load(Param("cfg"), reg.RAX)
	kp := Load(Param("kp"), reg.RCX)
	a := Load(Param("a"), reg.RSI)
	b := Load(Param("b"), reg.RDI)
	emit(ldtilecfg(rax))
	Load(Param("out"), reg.RAX)
	MOVQ(kp, reg.RBX)
	SHLQ(Imm(2), reg.RBX) // A's row stride in bytes
	MOVQ(U32(128), reg.RDX)
	emit(tilezero(0))
	emit(tilezero(1))
	Label("amx_loop")
	emit(tileloadd(2, rsi, rbx, 0))
	emit(tileloadd(3, rdi, rdx, 0))
	emit(tileloadd(4, rdi, rdx, 64))
	emit(tdpbf16ps(0, 2, 3))
	emit(tdpbf16ps(1, 2, 4))
	ADDQ(U32(64), a)
	ADDQ(U32(16*128), b)
	SUBQ(U32(16), kp)
	JNZ(LabelRef("amx_loop"))
	emit(tilestored(rax, rdx, 0, 0))
	emit(tilestored(rax, rdx, 64, 1))
	emit(tilerelease())
	RET()
}

// emit emits raw instruction bytes.
func emit(bs []byte) {
	for _, x := range bs {
		Instruction(&ir.Instruction{Opcode: "BYTE", Operands: []Op{U8(x)}})
	}
}

// The AMX instructions are VEX.128 in the 0F38 map with W0; only the first eight general
// registers are used, so VEX.R̄X̄B̄ are all ones:
//
//	C4, R̄X̄B̄ 00010, W v̄v̄v̄v̄ L pp, opcode, ModRM [, SIB [, disp8]]
//
// pp selects the instruction within an opcode: 00 none, 01 66, 10 F3, 11 F2.
func vex(vvvv, pp byte, opcode byte, rest ...byte) []byte {
	return append([]byte{0xc4, 0xe2, (^vvvv&15)<<3 | pp, opcode}, rest...)
}

func checkGPR(rs ...int) {
	for _, r := range rs {
		if r < 0 || r > 7 {
			panic(fmt.Sprintf("amx encoder: register %d beyond the first eight", r))
		}
	}
}

// ldtilecfg encodes LDTILECFG [base] (VEX.128.NP.0F38.W0 49 /0).
func ldtilecfg(base int) []byte {
	checkGPR(base)
	if base == 4 || base == 5 { // RSP needs a SIB byte, RBP a displacement
		panic("amx encoder: ldtilecfg base RSP or RBP")
	}
	return vex(0, 0b00, 0x49, byte(base))
}

// tilerelease encodes TILERELEASE (VEX.128.NP.0F38.W0 49 C0).
func tilerelease() []byte { return vex(0, 0b00, 0x49, 0xc0) }

// tilezero encodes TILEZERO tmm (VEX.128.F2.0F38.W0 49 11:rrr:000).
func tilezero(tmm int) []byte { return vex(0, 0b11, 0x49, 0xc0|byte(tmm)<<3) }

// sibMem is the ModRM (with reg) and SIB of [base + index*1 + disp8], disp8 omitted when 0.
func sibMem(regField, base, index, disp int) []byte {
	checkGPR(base, index)
	if base == 5 || index == 4 {
		panic("amx encoder: base RBP or index RSP")
	}
	if disp < 0 || disp > 127 {
		panic("amx encoder: displacement outside 0..127")
	}
	mod := byte(0b00)
	if disp != 0 {
		mod = 0b01
	}
	out := []byte{mod<<6 | byte(regField)<<3 | 0b100, byte(index)<<3 | byte(base)}
	if disp != 0 {
		out = append(out, byte(disp))
	}
	return out
}

// tileloadd encodes TILELOADD tmm, [base + index*1 + disp] (VEX.128.F2.0F38.W0 4B), rows
// index bytes apart.
func tileloadd(tmm, base, index, disp int) []byte {
	return vex(0, 0b11, 0x4b, sibMem(tmm, base, index, disp)...)
}

// tilestored encodes TILESTORED [base + index*1 + disp], tmm (VEX.128.F3.0F38.W0 4B).
func tilestored(base, index, disp, tmm int) []byte {
	return vex(0, 0b10, 0x4b, sibMem(tmm, base, index, disp)...)
}

// tdpbf16ps encodes TDPBF16PS dst, src1, src2 (VEX.128.F3.0F38.W0 5C 11:rrr:bbb, src2 in
// vvvv): dst += pairs of src1's rows · src2's columns.
func tdpbf16ps(dst, src1, src2 int) []byte {
	return vex(byte(src2), 0b10, 0x5c, 0xc0|byte(dst)<<3|byte(src1))
}
