//go:build !noasm

#include "textflag.h"

// Both kernels keep, per 16 outputs, two accumulators of 8 int32 sums.
// For a tap pair, the 16 samples of rows a and b are widened to words and
// interleaved a0 b0 a1 b1 … within each 128-bit lane, so VPMADDWD against
// the broadcast pair (wa, wb) yields wa·a_i + wb·b_i. Accumulator Y0 holds
// outputs 0-3 | 8-11 and Y1 outputs 4-7 | 12-15; VPACKSSDW of the two puts
// the words back in order, and VPACKUSWB clamps to 0..255. Rounding is
// (sum + 2048) >> 12 with an arithmetic shift, as in the Go kernels.

// func rowsU8AVX2(dst *uint8, n int, src *uint8, offsets *int, pairs *int32, npairs int)
TEXT ·rowsU8AVX2(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ n+8(FP), CX
	MOVQ src+16(FP), SI
	MOVQ offsets+24(FP), R8
	MOVQ pairs+32(FP), R9
	MOVQ npairs+40(FP), R10
	MOVL $2048, AX
	MOVQ AX, X15
	VPBROADCASTD X15, Y15
	XORQ BX, BX

loop32:
	LEAQ 32(BX), AX
	CMPQ AX, CX
	JGT  loop16
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	VPXOR Y7, Y7, Y7
	VPXOR Y8, Y8, Y8
	MOVQ R8, R11
	MOVQ R9, R12
	MOVQ R10, R13

tap32:
	MOVQ         0(R11), AX
	MOVQ         8(R11), DX
	ADDQ         SI, AX
	ADDQ         SI, DX
	VPBROADCASTD (R12), Y4
	VPMOVZXBW    (AX)(BX*1), Y2
	VPMOVZXBW    (DX)(BX*1), Y3
	VPUNPCKLWD   Y3, Y2, Y5
	VPUNPCKHWD   Y3, Y2, Y6
	VPMADDWD     Y4, Y5, Y5
	VPMADDWD     Y4, Y6, Y6
	VPADDD       Y5, Y0, Y0
	VPADDD       Y6, Y1, Y1
	VPMOVZXBW    16(AX)(BX*1), Y2
	VPMOVZXBW    16(DX)(BX*1), Y3
	VPUNPCKLWD   Y3, Y2, Y5
	VPUNPCKHWD   Y3, Y2, Y6
	VPMADDWD     Y4, Y5, Y5
	VPMADDWD     Y4, Y6, Y6
	VPADDD       Y5, Y7, Y7
	VPADDD       Y6, Y8, Y8
	ADDQ         $16, R11
	ADDQ         $4, R12
	DECQ         R13
	JNZ          tap32

	VPADDD       Y15, Y0, Y0
	VPADDD       Y15, Y1, Y1
	VPADDD       Y15, Y7, Y7
	VPADDD       Y15, Y8, Y8
	VPSRAD       $12, Y0, Y0
	VPSRAD       $12, Y1, Y1
	VPSRAD       $12, Y7, Y7
	VPSRAD       $12, Y8, Y8
	VPACKSSDW    Y1, Y0, Y0
	VPACKSSDW    Y8, Y7, Y7
	VEXTRACTI128 $1, Y0, X1
	VPACKUSWB    X1, X0, X0
	VEXTRACTI128 $1, Y7, X8
	VPACKUSWB    X8, X7, X7
	VMOVDQU      X0, (DI)(BX*1)
	VMOVDQU      X7, 16(DI)(BX*1)
	ADDQ         $32, BX
	JMP          loop32

loop16:
	LEAQ 16(BX), AX
	CMPQ AX, CX
	JGT  done
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	MOVQ R8, R11
	MOVQ R9, R12
	MOVQ R10, R13

tap16:
	MOVQ         0(R11), AX
	MOVQ         8(R11), DX
	ADDQ         SI, AX
	ADDQ         SI, DX
	VPBROADCASTD (R12), Y4
	VPMOVZXBW    (AX)(BX*1), Y2
	VPMOVZXBW    (DX)(BX*1), Y3
	VPUNPCKLWD   Y3, Y2, Y5
	VPUNPCKHWD   Y3, Y2, Y6
	VPMADDWD     Y4, Y5, Y5
	VPMADDWD     Y4, Y6, Y6
	VPADDD       Y5, Y0, Y0
	VPADDD       Y6, Y1, Y1
	ADDQ         $16, R11
	ADDQ         $4, R12
	DECQ         R13
	JNZ          tap16

	VPADDD       Y15, Y0, Y0
	VPADDD       Y15, Y1, Y1
	VPSRAD       $12, Y0, Y0
	VPSRAD       $12, Y1, Y1
	VPACKSSDW    Y1, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPACKUSWB    X1, X0, X0
	VMOVDQU      X0, (DI)(BX*1)
	ADDQ         $16, BX
	JMP          loop16

done:
	VZEROUPPER
	RET

// func rowsI16AVX2(dst *uint8, n int, src *int16, offsets *int, pairs *int32, npairs int)
TEXT ·rowsI16AVX2(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ n+8(FP), CX
	MOVQ src+16(FP), SI
	MOVQ offsets+24(FP), R8
	MOVQ pairs+32(FP), R9
	MOVQ npairs+40(FP), R10
	MOVL $2048, AX
	MOVQ AX, X15
	VPBROADCASTD X15, Y15
	XORQ BX, BX

iloop:
	LEAQ 16(BX), AX
	CMPQ AX, CX
	JGT  idone
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	MOVQ R8, R11
	MOVQ R9, R12
	MOVQ R10, R13

itap:
	MOVQ         0(R11), AX
	MOVQ         8(R11), DX
	ADDQ         SI, AX
	ADDQ         SI, DX
	VPBROADCASTD (R12), Y4
	VMOVDQU      (AX)(BX*2), Y2
	VMOVDQU      (DX)(BX*2), Y3
	VPUNPCKLWD   Y3, Y2, Y5
	VPUNPCKHWD   Y3, Y2, Y6
	VPMADDWD     Y4, Y5, Y5
	VPMADDWD     Y4, Y6, Y6
	VPADDD       Y5, Y0, Y0
	VPADDD       Y6, Y1, Y1
	ADDQ         $16, R11
	ADDQ         $4, R12
	DECQ         R13
	JNZ          itap

	VPADDD       Y15, Y0, Y0
	VPADDD       Y15, Y1, Y1
	VPSRAD       $12, Y0, Y0
	VPSRAD       $12, Y1, Y1
	VPACKSSDW    Y1, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPACKUSWB    X1, X0, X0
	VMOVDQU      X0, (DI)(BX*1)
	ADDQ         $16, BX
	JMP          iloop

idone:
	VZEROUPPER
	RET
