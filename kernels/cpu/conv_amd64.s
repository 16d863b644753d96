//go:build !noasm

#include "textflag.h"

// Offsets into tileArgs (conv_amd64.go).
#define A_IN 0
#define A_WEIGHTS 8
#define A_BIAS 16
#define A_DST 24
#define A_TAPS 32
#define A_NTAPS 40
#define A_INC 48
#define A_CHANSTRIDE 56
#define A_PLANESTRIDE 64
#define A_BLOCKS 72
#define A_LASTROWS 80
#define A_RELU 88
#define A_SEGOFF 96
#define A_SEGMASK 144
#define A_LANEMASK 192
#define A_WSAVE 384
#define A_FULL 392

// AVX-512: accumulator of output row m, vector v is Z(3m+v).

#define Z_INIT(boff, a, b, c) \
	VBROADCASTSS boff(R8), a; \
	VMOVAPS      a, b;        \
	VMOVAPS      a, c

#define Z_FMA(woff, a, b, c) \
	VFMADD231PS.BCST woff(SI), Z24, a; \
	VFMADD231PS.BCST woff(SI), Z25, b; \
	VFMADD231PS.BCST woff(SI), Z26, c

#define Z_RELU(a, b, c) \
	VMAXPS Z31, a, a; \
	VMAXPS Z31, b, b; \
	VMAXPS Z31, c, c

// Stores one output row: vector v's two segments through K(2v+1), K(2v+2)
// at the element offsets in AX, BX / CX, DX / R11, R13 from plane R14.
#define Z_STORE(a, b, c) \
	VMOVUPS a, K1, (R14)(AX*4);  \
	VMOVUPS a, K2, (R14)(BX*4);  \
	VMOVUPS b, K3, (R14)(CX*4);  \
	VMOVUPS b, K4, (R14)(DX*4);  \
	VMOVUPS c, K5, (R14)(R11*4); \
	VMOVUPS c, K6, (R14)(R13*4)

// func convTileAVX512(args *tileArgs)
TEXT ·convTileAVX512(SB), NOSPLIT, $0-8
	MOVQ  args+0(FP), DI
	MOVQ  A_WEIGHTS(DI), SI
	MOVQ  A_BIAS(DI), R8
	MOVQ  A_DST(DI), R9
	MOVQ  A_BLOCKS(DI), R10
	KMOVW A_SEGMASK+0(DI), K1
	KMOVW A_SEGMASK+8(DI), K2
	KMOVW A_SEGMASK+16(DI), K3
	KMOVW A_SEGMASK+24(DI), K4
	KMOVW A_SEGMASK+32(DI), K5
	KMOVW A_SEGMASK+40(DI), K6
	VPXORD Z31, Z31, Z31

zblock:
	Z_INIT(0, Z0, Z1, Z2)
	Z_INIT(4, Z3, Z4, Z5)
	Z_INIT(8, Z6, Z7, Z8)
	Z_INIT(12, Z9, Z10, Z11)
	Z_INIT(16, Z12, Z13, Z14)
	Z_INIT(20, Z15, Z16, Z17)
	Z_INIT(24, Z18, Z19, Z20)
	Z_INIT(28, Z21, Z22, Z23)
	MOVQ A_IN(DI), AX
	MOVQ A_INC(DI), CX

zchan:
	MOVQ A_TAPS(DI), BX
	MOVQ A_NTAPS(DI), DX

ztap:
	MOVQ       (BX), R11
	MOVQ       8(BX), R12
	VMOVUPS    (AX)(R11*4), Z24
	VMOVUPS    64(AX)(R11*4), Z25
	VMOVUPS    128(AX)(R11*4), Z26
	PREFETCHT0 (AX)(R12*1)
	Z_FMA(0, Z0, Z1, Z2)
	Z_FMA(4, Z3, Z4, Z5)
	Z_FMA(8, Z6, Z7, Z8)
	Z_FMA(12, Z9, Z10, Z11)
	Z_FMA(16, Z12, Z13, Z14)
	Z_FMA(20, Z15, Z16, Z17)
	Z_FMA(24, Z18, Z19, Z20)
	Z_FMA(28, Z21, Z22, Z23)
	ADDQ    $32, SI
	ADDQ    $16, BX
	DECQ    DX
	JNZ     ztap
	ADDQ    A_CHANSTRIDE(DI), AX
	DECQ    CX
	JNZ     zchan

	CMPQ A_RELU(DI), $0
	JEQ  zstore
	Z_RELU(Z0, Z1, Z2)
	Z_RELU(Z3, Z4, Z5)
	Z_RELU(Z6, Z7, Z8)
	Z_RELU(Z9, Z10, Z11)
	Z_RELU(Z12, Z13, Z14)
	Z_RELU(Z15, Z16, Z17)
	Z_RELU(Z18, Z19, Z20)
	Z_RELU(Z21, Z22, Z23)

zstore:
	MOVQ $8, R12
	CMPQ R10, $1
	JNE  zrows
	MOVQ A_LASTROWS(DI), R12

zrows:
	MOVQ A_SEGOFF+0(DI), AX
	MOVQ A_SEGOFF+8(DI), BX
	MOVQ A_SEGOFF+16(DI), CX
	MOVQ A_SEGOFF+24(DI), DX
	MOVQ A_SEGOFF+32(DI), R11
	MOVQ A_SEGOFF+40(DI), R13
	MOVQ R9, R14
	Z_STORE(Z0, Z1, Z2)
	DECQ R12
	JZ   znext
	ADDQ A_PLANESTRIDE(DI), R14
	Z_STORE(Z3, Z4, Z5)
	DECQ R12
	JZ   znext
	ADDQ A_PLANESTRIDE(DI), R14
	Z_STORE(Z6, Z7, Z8)
	DECQ R12
	JZ   znext
	ADDQ A_PLANESTRIDE(DI), R14
	Z_STORE(Z9, Z10, Z11)
	DECQ R12
	JZ   znext
	ADDQ A_PLANESTRIDE(DI), R14
	Z_STORE(Z12, Z13, Z14)
	DECQ R12
	JZ   znext
	ADDQ A_PLANESTRIDE(DI), R14
	Z_STORE(Z15, Z16, Z17)
	DECQ R12
	JZ   znext
	ADDQ A_PLANESTRIDE(DI), R14
	Z_STORE(Z18, Z19, Z20)
	DECQ R12
	JZ   znext
	ADDQ A_PLANESTRIDE(DI), R14
	Z_STORE(Z21, Z22, Z23)

znext:
	ADDQ $32, R8
	MOVQ A_PLANESTRIDE(DI), R11
	SHLQ $3, R11
	ADDQ R11, R9
	DECQ R10
	JNZ  zblock
	VZEROUPPER
	RET

// AVX2: accumulator of output row m (0..3 within the half), vector v is
// Y(3m+v); Y12..Y14 hold the input vectors and Y15 the weight.

#define Y_INIT(boff, a, b, c) \
	VBROADCASTSS boff(R15), a; \
	VMOVAPS      a, b;         \
	VMOVAPS      a, c

#define Y_FMA(woff, a, b, c) \
	VBROADCASTSS woff(SI), Y15; \
	VFMADD231PS  Y12, Y15, a;   \
	VFMADD231PS  Y13, Y15, b;   \
	VFMADD231PS  Y14, Y15, c

#define Y_RELU(a, b, c) \
	VMAXPS Y15, a, a; \
	VMAXPS Y15, b, b; \
	VMAXPS Y15, c, c

// Stores one output row at plane R14: vector v's two segments at the
// element offsets A_SEGOFF+16v and +16v+8 under the lane masks at
// A_LANEMASK+64v and +64v+32.
#define Y_STORE(a, b, c) \
	MOVQ       A_SEGOFF+0(DI), AX;      \
	VMOVDQU    A_LANEMASK+0(DI), Y12;   \
	VMASKMOVPS a, Y12, (R14)(AX*4);     \
	MOVQ       A_SEGOFF+8(DI), AX;      \
	VMOVDQU    A_LANEMASK+32(DI), Y12;  \
	VMASKMOVPS a, Y12, (R14)(AX*4);     \
	MOVQ       A_SEGOFF+16(DI), AX;     \
	VMOVDQU    A_LANEMASK+64(DI), Y12;  \
	VMASKMOVPS b, Y12, (R14)(AX*4);     \
	MOVQ       A_SEGOFF+24(DI), AX;     \
	VMOVDQU    A_LANEMASK+96(DI), Y12;  \
	VMASKMOVPS b, Y12, (R14)(AX*4);     \
	MOVQ       A_SEGOFF+32(DI), AX;     \
	VMOVDQU    A_LANEMASK+128(DI), Y12; \
	VMASKMOVPS c, Y12, (R14)(AX*4);     \
	MOVQ       A_SEGOFF+40(DI), AX;     \
	VMOVDQU    A_LANEMASK+160(DI), Y12; \
	VMASKMOVPS c, Y12, (R14)(AX*4)

// Stores one output row whole: vector v at element offset AX, BX, CX.
#define Y_STORE_FULL(a, b, c) \
	VMOVUPS a, (R14)(AX*4); \
	VMOVUPS b, (R14)(BX*4); \
	VMOVUPS c, (R14)(CX*4)

// func convTileAVX2(args *tileArgs)
TEXT ·convTileAVX2(SB), NOSPLIT, $0-8
	MOVQ args+0(FP), DI
	MOVQ A_WEIGHTS(DI), SI
	MOVQ A_BIAS(DI), R8
	MOVQ A_DST(DI), R9
	MOVQ A_BLOCKS(DI), R10

yblock:
	// R12: rows of this block to store; R13: rows left for this half.
	MOVQ SI, A_WSAVE(DI)
	MOVQ $8, R12
	CMPQ R10, $1
	JNE  yhalf0
	MOVQ A_LASTROWS(DI), R12

yhalf0:
	MOVQ R12, R13
	MOVQ R8, R15
	MOVQ R9, R14

yhalf:
	Y_INIT(0, Y0, Y1, Y2)
	Y_INIT(4, Y3, Y4, Y5)
	Y_INIT(8, Y6, Y7, Y8)
	Y_INIT(12, Y9, Y10, Y11)
	MOVQ A_IN(DI), AX
	MOVQ A_INC(DI), CX

ychan:
	MOVQ A_TAPS(DI), BX
	MOVQ A_NTAPS(DI), DX

ytap:
	MOVQ       (BX), R11
	MOVQ       8(BX), R12
	VMOVUPS    (AX)(R11*4), Y12
	VMOVUPS    32(AX)(R11*4), Y13
	VMOVUPS    64(AX)(R11*4), Y14
	PREFETCHT0 (AX)(R12*1)
	Y_FMA(0, Y0, Y1, Y2)
	Y_FMA(4, Y3, Y4, Y5)
	Y_FMA(8, Y6, Y7, Y8)
	Y_FMA(12, Y9, Y10, Y11)
	ADDQ    $32, SI
	ADDQ    $16, BX
	DECQ    DX
	JNZ     ytap
	ADDQ    A_CHANSTRIDE(DI), AX
	DECQ    CX
	JNZ     ychan

	CMPQ   A_RELU(DI), $0
	JEQ    ystore
	VXORPS Y15, Y15, Y15
	Y_RELU(Y0, Y1, Y2)
	Y_RELU(Y3, Y4, Y5)
	Y_RELU(Y6, Y7, Y8)
	Y_RELU(Y9, Y10, Y11)

ystore:
	CMPQ A_FULL(DI), $0
	JNE  yfull
	Y_STORE(Y0, Y1, Y2)
	DECQ R13
	JZ   ynext
	ADDQ A_PLANESTRIDE(DI), R14
	Y_STORE(Y3, Y4, Y5)
	DECQ R13
	JZ   ynext
	ADDQ A_PLANESTRIDE(DI), R14
	Y_STORE(Y6, Y7, Y8)
	DECQ R13
	JZ   ynext
	ADDQ A_PLANESTRIDE(DI), R14
	Y_STORE(Y9, Y10, Y11)
	DECQ R13
	JZ   ynext
	ADDQ A_PLANESTRIDE(DI), R14
	JMP  yhalf1

	// Every vector is stored whole into one row: plain stores. On AMD
	// Zen 4, VMASKMOVPS stores made the short-K Winograd products
	// store-bound (0.8× the direct path, 1.2× with plain stores).
yfull:
	MOVQ A_SEGOFF+0(DI), AX
	MOVQ A_SEGOFF+16(DI), BX
	MOVQ A_SEGOFF+32(DI), CX
	Y_STORE_FULL(Y0, Y1, Y2)
	DECQ R13
	JZ   ynext
	ADDQ A_PLANESTRIDE(DI), R14
	Y_STORE_FULL(Y3, Y4, Y5)
	DECQ R13
	JZ   ynext
	ADDQ A_PLANESTRIDE(DI), R14
	Y_STORE_FULL(Y6, Y7, Y8)
	DECQ R13
	JZ   ynext
	ADDQ A_PLANESTRIDE(DI), R14
	Y_STORE_FULL(Y9, Y10, Y11)
	DECQ R13
	JZ   ynext
	ADDQ A_PLANESTRIDE(DI), R14

yhalf1:

	// Second half, unless done: rows 4..7 of the block.
	CMPQ R15, R8
	JNE  ynext
	MOVQ A_WSAVE(DI), SI
	ADDQ $16, SI
	LEAQ 16(R8), R15
	JMP  yhalf

ynext:
	MOVQ A_WSAVE(DI), SI
	MOVQ A_INC(DI), AX
	IMULQ A_NTAPS(DI), AX
	SHLQ $5, AX
	ADDQ AX, SI
	ADDQ $32, R8
	MOVQ A_PLANESTRIDE(DI), R11
	SHLQ $3, R11
	ADDQ R11, R9
	DECQ R10
	JNZ  yblock
	VZEROUPPER
	RET

// Offsets into narrowArgs (conv_amd64.go).
#define N_IN 0
#define N_WEIGHTS 8
#define N_BIAS 16
#define N_DST 24
#define N_TAPS 32
#define N_NTAPS 40
#define N_INC 48
#define N_CHANSTRIDE 56
#define N_RELU 64
#define N_SEGOFF 72
#define N_SEGMASK 456

// Accumulates input vector v (at byte offset 64v of R13) times the weight
// in Z31 into z.
#define N_FMA(off, z) VFMADD231PS off(R13), Z31, z

// Stores vector v (in z) through its two segments.
#define N_STORE(v, z) \
	KMOVW   N_SEGMASK+16*v(DI), K1;   \
	KMOVW   N_SEGMASK+16*v+8(DI), K2; \
	MOVQ    N_SEGOFF+16*v(DI), R11;   \
	MOVQ    N_SEGOFF+16*v+8(DI), R12; \
	VMOVUPS z, K1, (R14)(R11*4);      \
	VMOVUPS z, K2, (R14)(R12*4)

// func convNarrowAVX512(args *narrowArgs)
TEXT ·convNarrowAVX512(SB), NOSPLIT, $0-8
	MOVQ         args+0(FP), DI
	MOVQ         N_WEIGHTS(DI), SI
	MOVQ         N_BIAS(DI), R8
	VBROADCASTSS (R8), Z0
	VMOVAPS      Z0, Z1
	VMOVAPS      Z0, Z2
	VMOVAPS      Z0, Z3
	VMOVAPS      Z0, Z4
	VMOVAPS      Z0, Z5
	VMOVAPS      Z0, Z6
	VMOVAPS      Z0, Z7
	VMOVAPS      Z0, Z8
	VMOVAPS      Z0, Z9
	VMOVAPS      Z0, Z10
	VMOVAPS      Z0, Z11
	VMOVAPS      Z0, Z12
	VMOVAPS      Z0, Z13
	VMOVAPS      Z0, Z14
	VMOVAPS      Z0, Z15
	VMOVAPS      Z0, Z16
	VMOVAPS      Z0, Z17
	VMOVAPS      Z0, Z18
	VMOVAPS      Z0, Z19
	VMOVAPS      Z0, Z20
	VMOVAPS      Z0, Z21
	VMOVAPS      Z0, Z22
	VMOVAPS      Z0, Z23
	MOVQ         N_IN(DI), AX
	MOVQ         N_INC(DI), CX

nchan:
	MOVQ N_TAPS(DI), BX
	MOVQ N_NTAPS(DI), DX

ntap:
	MOVQ         (BX), R11
	MOVQ         8(BX), R12
	LEAQ         (AX)(R11*4), R13
	VBROADCASTSS (SI), Z31
	PREFETCHT0   (AX)(R12*1)
	N_FMA(0, Z0)
	N_FMA(64, Z1)
	N_FMA(128, Z2)
	N_FMA(192, Z3)
	N_FMA(256, Z4)
	N_FMA(320, Z5)
	N_FMA(384, Z6)
	N_FMA(448, Z7)
	N_FMA(512, Z8)
	N_FMA(576, Z9)
	N_FMA(640, Z10)
	N_FMA(704, Z11)
	N_FMA(768, Z12)
	N_FMA(832, Z13)
	N_FMA(896, Z14)
	N_FMA(960, Z15)
	N_FMA(1024, Z16)
	N_FMA(1088, Z17)
	N_FMA(1152, Z18)
	N_FMA(1216, Z19)
	N_FMA(1280, Z20)
	N_FMA(1344, Z21)
	N_FMA(1408, Z22)
	N_FMA(1472, Z23)
	ADDQ         $32, SI
	ADDQ         $16, BX
	DECQ         DX
	JNZ          ntap
	ADDQ         N_CHANSTRIDE(DI), AX
	DECQ         CX
	JNZ          nchan

	CMPQ   N_RELU(DI), $0
	JEQ    nstore
	VPXORD Z31, Z31, Z31
	Z_RELU(Z0, Z1, Z2)
	Z_RELU(Z3, Z4, Z5)
	Z_RELU(Z6, Z7, Z8)
	Z_RELU(Z9, Z10, Z11)
	Z_RELU(Z12, Z13, Z14)
	Z_RELU(Z15, Z16, Z17)
	Z_RELU(Z18, Z19, Z20)
	Z_RELU(Z21, Z22, Z23)

nstore:
	MOVQ N_DST(DI), R14
	N_STORE(0, Z0)
	N_STORE(1, Z1)
	N_STORE(2, Z2)
	N_STORE(3, Z3)
	N_STORE(4, Z4)
	N_STORE(5, Z5)
	N_STORE(6, Z6)
	N_STORE(7, Z7)
	N_STORE(8, Z8)
	N_STORE(9, Z9)
	N_STORE(10, Z10)
	N_STORE(11, Z11)
	N_STORE(12, Z12)
	N_STORE(13, Z13)
	N_STORE(14, Z14)
	N_STORE(15, Z15)
	N_STORE(16, Z16)
	N_STORE(17, Z17)
	N_STORE(18, Z18)
	N_STORE(19, Z19)
	N_STORE(20, Z20)
	N_STORE(21, Z21)
	N_STORE(22, Z22)
	N_STORE(23, Z23)
	VZEROUPPER
	RET
