//go:build !noasm

#include "textflag.h"

// The input transform splits the patch columns c = 0, 1 (and 2, 3) of the
// loaded vectors with shuffles that work within 128-bit lanes (dilation
// 1: VSHUFPS, 2: VSHUFPD) or on whole lanes (4 and 8: VSHUFF32X4), which
// leaves the tiles in a permuted lane order. U and M keep that order, and
// these VPERMI2PS indices undo it while interleaving the two output
// columns of each tile: 32 indices per dilation 1, 2, 4, 8 (output columns
// 0..15, then 16..31).
DATA winoInterleave<>+0(SB)/8, $0x0000001000000000
DATA winoInterleave<>+8(SB)/8, $0x0000001100000001
DATA winoInterleave<>+16(SB)/8, $0x0000001400000004
DATA winoInterleave<>+24(SB)/8, $0x0000001500000005
DATA winoInterleave<>+32(SB)/8, $0x0000001800000008
DATA winoInterleave<>+40(SB)/8, $0x0000001900000009
DATA winoInterleave<>+48(SB)/8, $0x0000001c0000000c
DATA winoInterleave<>+56(SB)/8, $0x0000001d0000000d
DATA winoInterleave<>+64(SB)/8, $0x0000001200000002
DATA winoInterleave<>+72(SB)/8, $0x0000001300000003
DATA winoInterleave<>+80(SB)/8, $0x0000001600000006
DATA winoInterleave<>+88(SB)/8, $0x0000001700000007
DATA winoInterleave<>+96(SB)/8, $0x0000001a0000000a
DATA winoInterleave<>+104(SB)/8, $0x0000001b0000000b
DATA winoInterleave<>+112(SB)/8, $0x0000001e0000000e
DATA winoInterleave<>+120(SB)/8, $0x0000001f0000000f
DATA winoInterleave<>+128(SB)/8, $0x0000000100000000
DATA winoInterleave<>+136(SB)/8, $0x0000001100000010
DATA winoInterleave<>+144(SB)/8, $0x0000000500000004
DATA winoInterleave<>+152(SB)/8, $0x0000001500000014
DATA winoInterleave<>+160(SB)/8, $0x0000000900000008
DATA winoInterleave<>+168(SB)/8, $0x0000001900000018
DATA winoInterleave<>+176(SB)/8, $0x0000000d0000000c
DATA winoInterleave<>+184(SB)/8, $0x0000001d0000001c
DATA winoInterleave<>+192(SB)/8, $0x0000000300000002
DATA winoInterleave<>+200(SB)/8, $0x0000001300000012
DATA winoInterleave<>+208(SB)/8, $0x0000000700000006
DATA winoInterleave<>+216(SB)/8, $0x0000001700000016
DATA winoInterleave<>+224(SB)/8, $0x0000000b0000000a
DATA winoInterleave<>+232(SB)/8, $0x0000001b0000001a
DATA winoInterleave<>+240(SB)/8, $0x0000000f0000000e
DATA winoInterleave<>+248(SB)/8, $0x0000001f0000001e
DATA winoInterleave<>+256(SB)/8, $0x0000000100000000
DATA winoInterleave<>+264(SB)/8, $0x0000000300000002
DATA winoInterleave<>+272(SB)/8, $0x0000001100000010
DATA winoInterleave<>+280(SB)/8, $0x0000001300000012
DATA winoInterleave<>+288(SB)/8, $0x0000000500000004
DATA winoInterleave<>+296(SB)/8, $0x0000000700000006
DATA winoInterleave<>+304(SB)/8, $0x0000001500000014
DATA winoInterleave<>+312(SB)/8, $0x0000001700000016
DATA winoInterleave<>+320(SB)/8, $0x0000000900000008
DATA winoInterleave<>+328(SB)/8, $0x0000000b0000000a
DATA winoInterleave<>+336(SB)/8, $0x0000001900000018
DATA winoInterleave<>+344(SB)/8, $0x0000001b0000001a
DATA winoInterleave<>+352(SB)/8, $0x0000000d0000000c
DATA winoInterleave<>+360(SB)/8, $0x0000000f0000000e
DATA winoInterleave<>+368(SB)/8, $0x0000001d0000001c
DATA winoInterleave<>+376(SB)/8, $0x0000001f0000001e
DATA winoInterleave<>+384(SB)/8, $0x0000000100000000
DATA winoInterleave<>+392(SB)/8, $0x0000000300000002
DATA winoInterleave<>+400(SB)/8, $0x0000000500000004
DATA winoInterleave<>+408(SB)/8, $0x0000000700000006
DATA winoInterleave<>+416(SB)/8, $0x0000001100000010
DATA winoInterleave<>+424(SB)/8, $0x0000001300000012
DATA winoInterleave<>+432(SB)/8, $0x0000001500000014
DATA winoInterleave<>+440(SB)/8, $0x0000001700000016
DATA winoInterleave<>+448(SB)/8, $0x0000000900000008
DATA winoInterleave<>+456(SB)/8, $0x0000000b0000000a
DATA winoInterleave<>+464(SB)/8, $0x0000000d0000000c
DATA winoInterleave<>+472(SB)/8, $0x0000000f0000000e
DATA winoInterleave<>+480(SB)/8, $0x0000001900000018
DATA winoInterleave<>+488(SB)/8, $0x0000001b0000001a
DATA winoInterleave<>+496(SB)/8, $0x0000001d0000001c
DATA winoInterleave<>+504(SB)/8, $0x0000001f0000001e
GLOBL winoInterleave<>(SB), RODATA|NOPTR, $512

// Offsets into winogradInArgs (winograd_amd64.go).
#define WI_U 0
#define WI_ROWS 8
#define WI_COLOFF 40
#define WI_STRIDE 72
#define WI_MASK 104
#define WI_INC 136
#define WI_PSTRIDE 144

// Loads patch row at reg (columns 0..15, 16..31 and the same from byte
// offset o2 under masks K1..K4, zero outside) and writes its column
// transform d B: e0 = d0 − d2, e1 = d1 + d2, e2 = d2 − d1, e3 = d1 − d3,
// where shuf with immediates ie, io splits the columns of each pair of
// loads. Prefetches the row of the next channel.
#define WI_ROW(shuf, ie, io, o2, reg, soff, e0, e1, e2, e3) \
	VMOVUPS.Z  0(reg), K1, Z16;       \
	VMOVUPS.Z  64(reg), K2, Z17;      \
	VMOVUPS.Z  o2(reg), K3, Z18;      \
	VMOVUPS.Z  o2+64(reg), K4, Z19;   \
	MOVQ       soff(DI), R14;         \
	PREFETCHT0 0(reg)(R14*1);         \
	PREFETCHT0 64(reg)(R14*1);        \
	PREFETCHT0 o2+64(reg)(R14*1);     \
	PREFETCHT0 o2+127(reg)(R14*1);    \
	shuf       ie, Z17, Z16, Z20;     \
	shuf       io, Z17, Z16, Z21;     \
	shuf       ie, Z19, Z18, Z22;     \
	shuf       io, Z19, Z18, Z23;     \
	VSUBPS     Z22, Z20, e0;          \
	VADDPS     Z22, Z21, e1;          \
	VSUBPS     Z21, Z22, e2;          \
	VSUBPS     Z23, Z21, e3

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

// The input transform for one dilation: shuf, ie, io split the columns,
// o2 is the byte offset of columns 2 and 3 (8·dilation).
#define WI_BODY(shuf, ie, io, o2) \
	MOVQ  args+0(FP), DI;                     \
	MOVQ  WI_U(DI), SI;                       \
	MOVQ  WI_ROWS+0(DI), AX;                  \
	ADDQ  WI_COLOFF+0(DI), AX;                \
	MOVQ  WI_ROWS+8(DI), BX;                  \
	ADDQ  WI_COLOFF+8(DI), BX;                \
	MOVQ  WI_ROWS+16(DI), R9;                 \
	ADDQ  WI_COLOFF+16(DI), R9;               \
	MOVQ  WI_ROWS+24(DI), R10;                \
	ADDQ  WI_COLOFF+24(DI), R10;              \
	MOVQ  WI_INC(DI), CX;                     \
	MOVQ  WI_PSTRIDE(DI), DX;                 \
	KMOVW WI_MASK+0(DI), K1;                  \
	KMOVW WI_MASK+8(DI), K2;                  \
	KMOVW WI_MASK+16(DI), K3;                 \
	KMOVW WI_MASK+24(DI), K4;                 \
	MOVQ  DX, R11;                            \
	SHLQ  $2, R11;                            \
	LEAQ  (R11)(R11*2), R13;                  \
wichan:                                       \
	WI_ROW(shuf, ie, io, o2, AX, WI_STRIDE+0, Z0, Z1, Z2, Z3);     \
	WI_ROW(shuf, ie, io, o2, BX, WI_STRIDE+8, Z4, Z5, Z6, Z7);     \
	WI_ROW(shuf, ie, io, o2, R9, WI_STRIDE+16, Z8, Z9, Z10, Z11);  \
	WI_ROW(shuf, ie, io, o2, R10, WI_STRIDE+24, Z12, Z13, Z14, Z15); \
	MOVQ SI, R12;                             \
	WI_COL(Z0, Z4, Z8, Z12);                  \
	ADDQ DX, R12;                             \
	WI_COL(Z1, Z5, Z9, Z13);                  \
	ADDQ DX, R12;                             \
	WI_COL(Z2, Z6, Z10, Z14);                 \
	ADDQ DX, R12;                             \
	WI_COL(Z3, Z7, Z11, Z15);                 \
	ADDQ WI_STRIDE+0(DI), AX;                 \
	ADDQ WI_STRIDE+8(DI), BX;                 \
	ADDQ WI_STRIDE+16(DI), R9;                \
	ADDQ WI_STRIDE+24(DI), R10;               \
	ADDQ $192, SI;                            \
	DECQ CX;                                  \
	JNZ  wichan;                              \
	VZEROUPPER;                               \
	RET

// func winogradInputAVX512(args *winogradInArgs)
TEXT ·winogradInputAVX512(SB), NOSPLIT, $0-8
	WI_BODY(VSHUFPS, $0x88, $0xdd, 8)

// func winogradInputD2AVX512(args *winogradInArgs)
TEXT ·winogradInputD2AVX512(SB), NOSPLIT, $0-8
	WI_BODY(VSHUFPD, $0x00, $0xff, 16)

// func winogradInputD4AVX512(args *winogradInArgs)
TEXT ·winogradInputD4AVX512(SB), NOSPLIT, $0-8
	WI_BODY(VSHUFF32X4, $0x88, $0xdd, 32)

// func winogradInputD8AVX512(args *winogradInArgs)
TEXT ·winogradInputD8AVX512(SB), NOSPLIT, $0-8
	WI_BODY(VSHUFF32X4, $0x44, $0xee, 64)

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
#define WO_PERMOFF 224

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
	LEAQ      winoInterleave<>(SB), R12
	ADDQ      WO_PERMOFF(DI), R12
	VMOVDQU32 0(R12), Z28
	VMOVDQU32 64(R12), Z29
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

// AVX2 input transform. Pass 1 combines the 4 patch rows (Bᵀ d) for each
// of the 4 loads of a row (columns 0..7, 8..15, 2..9, 10..17) into tmp;
// pass 2 splits even and odd columns of each combined row with VSHUFPS
// (lane 4k+j holds tile 2k, 2k+1, 4+2k, 5+2k for j = 0..3) and combines
// the columns (· B).

// Row combination of the loads at byte offset off: tmp row i, load q.
#define WIY_ROWS(off, q) \
	VMOVUPS off(AX), Y0;                  \
	VMOVUPS off(AX)(BX*1), Y1;            \
	VMOVUPS off(AX)(BX*2), Y2;            \
	VMOVUPS off(AX)(R9*1), Y3;            \
	VSUBPS  Y2, Y0, Y4;                   \
	VMOVUPS Y4, (0*128+32*q)(R10);        \
	VADDPS  Y2, Y1, Y5;                   \
	VMOVUPS Y5, (1*128+32*q)(R10);        \
	VSUBPS  Y1, Y2, Y6;                   \
	VMOVUPS Y6, (2*128+32*q)(R10);        \
	VSUBPS  Y3, Y1, Y7;                   \
	VMOVUPS Y7, (3*128+32*q)(R10)

// Column combination of tmp row i into positions 4i..4i+3 from R12.
#define WIY_COLS(i) \
	VMOVUPS (i*128)(R10), Y0;        \
	VMOVUPS (i*128+32)(R10), Y1;     \
	VMOVUPS (i*128+64)(R10), Y2;     \
	VMOVUPS (i*128+96)(R10), Y3;     \
	VSHUFPS $0x88, Y1, Y0, Y4;       \
	VSHUFPS $0xdd, Y1, Y0, Y5;       \
	VSHUFPS $0x88, Y3, Y2, Y6;       \
	VSHUFPS $0xdd, Y3, Y2, Y7;       \
	VSUBPS  Y6, Y4, Y8;              \
	VMOVUPS Y8, (R12);               \
	ADDQ    DX, R12;                 \
	VADDPS  Y6, Y5, Y9;              \
	VMOVUPS Y9, (R12);               \
	ADDQ    DX, R12;                 \
	VSUBPS  Y5, Y6, Y10;             \
	VMOVUPS Y10, (R12);              \
	ADDQ    DX, R12;                 \
	VSUBPS  Y7, Y5, Y11;             \
	VMOVUPS Y11, (R12);              \
	ADDQ    DX, R12

// func winogradInputAVX2(in, u, tmp *float32, inC, chanStride, rowStride, pStride int)
TEXT ·winogradInputAVX2(SB), NOSPLIT, $0-56
	MOVQ in+0(FP), AX
	MOVQ u+8(FP), SI
	MOVQ tmp+16(FP), R10
	MOVQ inC+24(FP), CX
	MOVQ chanStride+32(FP), R8
	MOVQ rowStride+40(FP), BX
	MOVQ pStride+48(FP), DX
	LEAQ (BX)(BX*2), R9

wiychan:
	WIY_ROWS(0, 0)
	WIY_ROWS(32, 1)
	WIY_ROWS(8, 2)
	WIY_ROWS(40, 3)
	MOVQ SI, R12
	WIY_COLS(0)
	WIY_COLS(1)
	WIY_COLS(2)
	WIY_COLS(3)
	ADDQ R8, AX
	ADDQ $96, SI
	DECQ CX
	JNZ  wiychan
	VZEROUPPER
	RET

#define WO_LANEMASK 96

// Loads the 4 positions of M row i from R12 and combines its columns:
// s0 = m0 + m1 + m2, s1 = m1 − m2 − m3.
#define WOY_ROW(s0, s1) \
	VMOVUPS (R12), Y0;         \
	VMOVUPS (R12)(DX*1), Y1;   \
	VMOVUPS (R12)(DX*2), Y2;   \
	VMOVUPS (R12)(R10*1), Y3;  \
	VADDPS  Y1, Y0, s0;        \
	VADDPS  Y2, s0, s0;        \
	VSUBPS  Y2, Y1, s1;        \
	VSUBPS  Y3, s1, s1;        \
	ADDQ    R11, R12

// func winogradOutputAVX2(args *winogradOutArgs)
TEXT ·winogradOutputAVX2(SB), NOSPLIT, $0-8
	MOVQ args+0(FP), DI
	MOVQ WO_M(DI), SI
	MOVQ WO_DST(DI), R8
	MOVQ WO_BIAS(DI), R9
	MOVQ WO_OUTC(DI), CX
	MOVQ WO_MPSTRIDE(DI), DX
	MOVQ WO_ROWSTRIDE(DI), BX
	LEAQ (DX)(DX*2), R10
	MOVQ DX, R11
	SHLQ $2, R11

woychan:
	MOVQ SI, R12
	WOY_ROW(Y4, Y5)
	WOY_ROW(Y6, Y7)
	WOY_ROW(Y8, Y9)
	WOY_ROW(Y10, Y11)

	// Rows: y0j = s0j + s1j + s2j, y1j = s1j − s2j − s3j, plus bias.
	VBROADCASTSS (R9), Y12
	VADDPS       Y6, Y4, Y0
	VADDPS       Y8, Y0, Y0
	VADDPS       Y12, Y0, Y0
	VADDPS       Y7, Y5, Y1
	VADDPS       Y9, Y1, Y1
	VADDPS       Y12, Y1, Y1
	VSUBPS       Y8, Y6, Y2
	VSUBPS       Y10, Y2, Y2
	VADDPS       Y12, Y2, Y2
	VSUBPS       Y9, Y7, Y3
	VSUBPS       Y11, Y3, Y3
	VADDPS       Y12, Y3, Y3

	CMPQ   WO_RELU(DI), $0
	JEQ    woystore
	VXORPS Y12, Y12, Y12
	VMAXPS Y12, Y0, Y0
	VMAXPS Y12, Y1, Y1
	VMAXPS Y12, Y2, Y2
	VMAXPS Y12, Y3, Y3

woystore:
	// The VSHUFPS lane order makes the in-lane unpacks the interleave.
	VUNPCKLPS  Y1, Y0, Y13
	VUNPCKHPS  Y1, Y0, Y14
	VMOVDQU    WO_LANEMASK+0(DI), Y15
	VMASKMOVPS Y13, Y15, (R8)
	VMOVDQU    WO_LANEMASK+32(DI), Y15
	VMASKMOVPS Y14, Y15, 32(R8)
	VUNPCKLPS  Y3, Y2, Y13
	VUNPCKHPS  Y3, Y2, Y14
	VMOVDQU    WO_LANEMASK+64(DI), Y15
	VMASKMOVPS Y13, Y15, (R8)(BX*1)
	VMOVDQU    WO_LANEMASK+96(DI), Y15
	VMASKMOVPS Y14, Y15, 32(R8)(BX*1)

	ADDQ WO_PLANESTRIDE(DI), R8
	ADDQ $96, SI
	ADDQ $4, R9
	DECQ CX
	JNZ  woychan
	VZEROUPPER
	RET

// Winograd products: M[row][48] = Σ_k W[k][row] · U[k][48] for blocks of 8
// rows, accumulator of row m, vector v in Z(3m+v) as in convTileAVX512.

#define WG_FMA(uoff, woff) \
	VMOVUPS          uoff(AX), Z24;       \
	VMOVUPS          uoff+64(AX), Z25;    \
	VMOVUPS          uoff+128(AX), Z26;   \
	Z_FMA(woff+0, Z0, Z1, Z2);            \
	Z_FMA(woff+4, Z3, Z4, Z5);            \
	Z_FMA(woff+8, Z6, Z7, Z8);            \
	Z_FMA(woff+12, Z9, Z10, Z11);         \
	Z_FMA(woff+16, Z12, Z13, Z14);        \
	Z_FMA(woff+20, Z15, Z16, Z17);        \
	Z_FMA(woff+24, Z18, Z19, Z20);        \
	Z_FMA(woff+28, Z21, Z22, Z23)

#define WG_STORE(row, a, b, c) \
	VMOVUPS a, (row*192)(R9);     \
	VMOVUPS b, (row*192+64)(R9);  \
	VMOVUPS c, (row*192+128)(R9)

#define Z_FMA(woff, a, b, c) \
	VFMADD231PS.BCST woff(SI), Z24, a; \
	VFMADD231PS.BCST woff(SI), Z25, b; \
	VFMADD231PS.BCST woff(SI), Z26, c

// func winogradGemmAVX512(u, w, m *float32, inC, blocks int)
TEXT ·winogradGemmAVX512(SB), NOSPLIT, $0-40
	MOVQ u+0(FP), R8
	MOVQ w+8(FP), SI
	MOVQ m+16(FP), R9
	MOVQ blocks+32(FP), R10

wgblock:
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15
	VPXORD Z16, Z16, Z16
	VPXORD Z17, Z17, Z17
	VPXORD Z18, Z18, Z18
	VPXORD Z19, Z19, Z19
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	VPXORD Z22, Z22, Z22
	VPXORD Z23, Z23, Z23
	MOVQ   R8, AX
	MOVQ   inC+24(FP), CX
	SHRQ   $1, CX
	JZ     wgtail

wgpair:
	WG_FMA(0, 0)
	WG_FMA(192, 32)
	ADDQ $384, AX
	ADDQ $64, SI
	DECQ CX
	JNZ  wgpair

wgtail:
	TESTQ $1, inC+24(FP)
	JZ    wgstore
	WG_FMA(0, 0)
	ADDQ  $32, SI

wgstore:
	WG_STORE(0, Z0, Z1, Z2)
	WG_STORE(1, Z3, Z4, Z5)
	WG_STORE(2, Z6, Z7, Z8)
	WG_STORE(3, Z9, Z10, Z11)
	WG_STORE(4, Z12, Z13, Z14)
	WG_STORE(5, Z15, Z16, Z17)
	WG_STORE(6, Z18, Z19, Z20)
	WG_STORE(7, Z21, Z22, Z23)
	ADDQ $1536, R9
	DECQ R10
	JNZ  wgblock
	VZEROUPPER
	RET
