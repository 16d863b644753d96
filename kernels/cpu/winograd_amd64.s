//go:build !noasm

#include "textflag.h"

// Lane indices for VPERMI2PS: the even and odd elements of two vectors,
// and the interleaving of the low and high halves of two vectors.
DATA winoEven<>+0(SB)/8, $0x0000000200000000
DATA winoEven<>+8(SB)/8, $0x0000000600000004
DATA winoEven<>+16(SB)/8, $0x0000000a00000008
DATA winoEven<>+24(SB)/8, $0x0000000e0000000c
DATA winoEven<>+32(SB)/8, $0x0000001200000010
DATA winoEven<>+40(SB)/8, $0x0000001600000014
DATA winoEven<>+48(SB)/8, $0x0000001a00000018
DATA winoEven<>+56(SB)/8, $0x0000001e0000001c
GLOBL winoEven<>(SB), RODATA|NOPTR, $64

DATA winoOdd<>+0(SB)/8, $0x0000000300000001
DATA winoOdd<>+8(SB)/8, $0x0000000700000005
DATA winoOdd<>+16(SB)/8, $0x0000000b00000009
DATA winoOdd<>+24(SB)/8, $0x0000000f0000000d
DATA winoOdd<>+32(SB)/8, $0x0000001300000011
DATA winoOdd<>+40(SB)/8, $0x0000001700000015
DATA winoOdd<>+48(SB)/8, $0x0000001b00000019
DATA winoOdd<>+56(SB)/8, $0x0000001f0000001d
GLOBL winoOdd<>(SB), RODATA|NOPTR, $64

DATA winoLow<>+0(SB)/8, $0x0000001000000000
DATA winoLow<>+8(SB)/8, $0x0000001100000001
DATA winoLow<>+16(SB)/8, $0x0000001200000002
DATA winoLow<>+24(SB)/8, $0x0000001300000003
DATA winoLow<>+32(SB)/8, $0x0000001400000004
DATA winoLow<>+40(SB)/8, $0x0000001500000005
DATA winoLow<>+48(SB)/8, $0x0000001600000006
DATA winoLow<>+56(SB)/8, $0x0000001700000007
GLOBL winoLow<>(SB), RODATA|NOPTR, $64

DATA winoHigh<>+0(SB)/8, $0x0000001800000008
DATA winoHigh<>+8(SB)/8, $0x0000001900000009
DATA winoHigh<>+16(SB)/8, $0x0000001a0000000a
DATA winoHigh<>+24(SB)/8, $0x0000001b0000000b
DATA winoHigh<>+32(SB)/8, $0x0000001c0000000c
DATA winoHigh<>+40(SB)/8, $0x0000001d0000000d
DATA winoHigh<>+48(SB)/8, $0x0000001e0000000e
DATA winoHigh<>+56(SB)/8, $0x0000001f0000000f
GLOBL winoHigh<>(SB), RODATA|NOPTR, $64

// Loads patch row (AX)(idx) of 16 tiles and writes its column transform
// d B: e0 = d0 − d2, e1 = d1 + d2, e2 = d2 − d1, e3 = d1 − d3.
#define WI_ROW(idx, e0, e1, e2, e3) \
	VMOVUPS   0(AX)(idx), Z16;  \
	VMOVUPS   64(AX)(idx), Z17; \
	VMOVUPS   8(AX)(idx), Z18;  \
	VMOVUPS   72(AX)(idx), Z19; \
	VMOVAPS   Z30, Z20;         \
	VPERMI2PS Z17, Z16, Z20;    \
	VMOVAPS   Z31, Z21;         \
	VPERMI2PS Z17, Z16, Z21;    \
	VMOVAPS   Z30, Z22;         \
	VPERMI2PS Z19, Z18, Z22;    \
	VMOVAPS   Z31, Z23;         \
	VPERMI2PS Z19, Z18, Z23;    \
	VSUBPS    Z22, Z20, e0;     \
	VADDPS    Z22, Z21, e1;     \
	VSUBPS    Z21, Z22, e2;     \
	VSUBPS    Z23, Z21, e3

// Writes the row transform Bᵀ of column j (e0..e3 from rows 0..3) to
// positions j, 4+j, 8+j, 12+j at R12, R12+4S, R12+8S, R12+12S.
#define WI_COL(e0, e1, e2, e3) \
	VSUBPS  e2, e0, Z16;        \
	VMOVUPS Z16, (R12);         \
	VADDPS  e2, e1, Z17;        \
	VMOVUPS Z17, (R12)(R11*1);  \
	VSUBPS  e1, e2, Z18;        \
	VMOVUPS Z18, (R12)(R11*2);  \
	VSUBPS  e3, e1, Z19;        \
	VMOVUPS Z19, (R12)(R13*1)

// func winogradInputAVX512(in, u *float32, inC, chanStride, rowStride, pStride int)
TEXT ·winogradInputAVX512(SB), NOSPLIT, $0-48
	MOVQ      in+0(FP), AX
	MOVQ      u+8(FP), DI
	MOVQ      inC+16(FP), CX
	MOVQ      chanStride+24(FP), R8
	MOVQ      rowStride+32(FP), BX
	MOVQ      pStride+40(FP), DX
	LEAQ      (BX)(BX*2), R9
	XORQ      R10, R10
	MOVQ      DX, R11
	SHLQ      $2, R11
	LEAQ      (R11)(R11*2), R13
	VMOVDQU32 winoEven<>(SB), Z30
	VMOVDQU32 winoOdd<>(SB), Z31

wichan:
	WI_ROW(R10*1, Z0, Z1, Z2, Z3)
	WI_ROW(BX*1, Z4, Z5, Z6, Z7)
	WI_ROW(BX*2, Z8, Z9, Z10, Z11)
	WI_ROW(R9*1, Z12, Z13, Z14, Z15)
	MOVQ DI, R12
	WI_COL(Z0, Z4, Z8, Z12)
	ADDQ DX, R12
	WI_COL(Z1, Z5, Z9, Z13)
	ADDQ DX, R12
	WI_COL(Z2, Z6, Z10, Z14)
	ADDQ DX, R12
	WI_COL(Z3, Z7, Z11, Z15)
	ADDQ R8, AX
	ADDQ $192, DI
	DECQ CX
	JNZ  wichan
	VZEROUPPER
	RET

// Offsets into winogradOutArgs (winograd_amd64.go).
#define WO_M 0
#define WO_DST 8
#define WO_BIAS 16
#define WO_OUTC 24
#define WO_MPSTRIDE 32
#define WO_PLANESTRIDE 40
#define WO_ROWSTRIDE 48
#define WO_RELU 56
#define WO_MASK 64

// Loads positions 4i..4i+3 from R12, (R12)(DX), (R12)(DX*2), (R12)(R10).
#define WO_LOAD(a, b, c, d) \
	VMOVUPS (R12), a;         \
	VMOVUPS (R12)(DX*1), b;   \
	VMOVUPS (R12)(DX*2), c;   \
	VMOVUPS (R12)(R10*1), d

// Column transform of one row: s0 = m0 + m1 + m2, s1 = m1 − m2 − m3.
#define WO_COLS(m0, m1, m2, m3, s0, s1) \
	VADDPS m1, m0, s0; \
	VADDPS m2, s0, s0; \
	VSUBPS m2, m1, s1; \
	VSUBPS m3, s1, s1

// func winogradOutputAVX512(args *winogradOutArgs)
TEXT ·winogradOutputAVX512(SB), NOSPLIT, $0-8
	MOVQ      args+0(FP), DI
	MOVQ      WO_M(DI), SI
	MOVQ      WO_DST(DI), R8
	MOVQ      WO_BIAS(DI), R9
	MOVQ      WO_OUTC(DI), CX
	MOVQ      WO_MPSTRIDE(DI), DX
	MOVQ      WO_ROWSTRIDE(DI), BX
	LEAQ      (DX)(DX*2), R10
	MOVQ      DX, R11
	SHLQ      $2, R11
	KMOVW     WO_MASK+0(DI), K1
	KMOVW     WO_MASK+8(DI), K2
	KMOVW     WO_MASK+16(DI), K3
	KMOVW     WO_MASK+24(DI), K4
	VMOVDQU32 winoLow<>(SB), Z28
	VMOVDQU32 winoHigh<>(SB), Z29
	VPXORD    Z27, Z27, Z27

wochan:
	MOVQ SI, R12
	WO_LOAD(Z0, Z1, Z2, Z3)
	ADDQ R11, R12
	WO_LOAD(Z4, Z5, Z6, Z7)
	ADDQ R11, R12
	WO_LOAD(Z8, Z9, Z10, Z11)
	ADDQ R11, R12
	WO_LOAD(Z12, Z13, Z14, Z15)
	WO_COLS(Z0, Z1, Z2, Z3, Z16, Z17)
	WO_COLS(Z4, Z5, Z6, Z7, Z18, Z19)
	WO_COLS(Z8, Z9, Z10, Z11, Z20, Z21)
	WO_COLS(Z12, Z13, Z14, Z15, Z22, Z23)

	// Row transform: y0j = s0j + s1j + s2j, y1j = s1j − s2j − s3j.
	VBROADCASTSS (R9), Z24
	VADDPS       Z18, Z16, Z0
	VADDPS       Z20, Z0, Z0
	VADDPS       Z24, Z0, Z0
	VADDPS       Z19, Z17, Z1
	VADDPS       Z21, Z1, Z1
	VADDPS       Z24, Z1, Z1
	VSUBPS       Z20, Z18, Z2
	VSUBPS       Z22, Z2, Z2
	VADDPS       Z24, Z2, Z2
	VSUBPS       Z21, Z19, Z3
	VSUBPS       Z23, Z3, Z3
	VADDPS       Z24, Z3, Z3

	CMPQ   WO_RELU(DI), $0
	JEQ    wostore
	VMAXPS Z27, Z0, Z0
	VMAXPS Z27, Z1, Z1
	VMAXPS Z27, Z2, Z2
	VMAXPS Z27, Z3, Z3

wostore:
	VMOVAPS   Z28, Z4
	VPERMI2PS Z1, Z0, Z4
	VMOVAPS   Z29, Z5
	VPERMI2PS Z1, Z0, Z5
	VMOVAPS   Z28, Z6
	VPERMI2PS Z3, Z2, Z6
	VMOVAPS   Z29, Z7
	VPERMI2PS Z3, Z2, Z7
	VMOVUPS   Z4, K1, (R8)
	VMOVUPS   Z5, K2, 64(R8)
	VMOVUPS   Z6, K3, (R8)(BX*1)
	VMOVUPS   Z7, K4, 64(R8)(BX*1)

	ADDQ WO_PLANESTRIDE(DI), R8
	ADDQ $192, SI
	ADDQ $4, R9
	DECQ CX
	JNZ  wochan
	VZEROUPPER
	RET
