//go:build !noasm

#include "textflag.h"

// func maxPool2x2AVX2(out, a, b *float32, groups int)
//
// For each group of 8 outputs: out[i] = max(a[2i], a[2i+1], b[2i], b[2i+1]).
TEXT ·maxPool2x2AVX2(SB), NOSPLIT, $0-32
	MOVQ out+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ groups+24(FP), CX
	TESTQ CX, CX
	JZ    done

loop:
	VMOVUPS   (SI), Y0
	VMOVUPS   32(SI), Y1
	VMAXPS    (DX), Y0, Y0
	VMAXPS    32(DX), Y1, Y1
	// Within each 128-bit lane: evens and odds of Y0 then Y1.
	VSHUFPS   $0x88, Y1, Y0, Y2
	VSHUFPS   $0xDD, Y1, Y0, Y3
	VMAXPS    Y3, Y2, Y2
	// Lanes hold outputs 0,1,4,5 | 2,3,6,7: swap the middle quads.
	VPERMPD   $0xD8, Y2, Y2
	VMOVUPS   Y2, (DI)
	ADDQ      $64, SI
	ADDQ      $64, DX
	ADDQ      $32, DI
	DECQ      CX
	JNZ       loop
	VZEROUPPER

done:
	RET
