//go:build !noasm

#include "textflag.h"

// Each step widens 16 bytes of a (left), b (above) and c (upper left) to
// words, takes pa = |b−c|, pb = |a−c| and pc = |a+b−2c|, and selects a
// where pa ≤ pb and pa ≤ pc, else b where pb ≤ pc, else c: the Paeth
// predictor with its tie order. Encoding reads only the unfiltered rows,
// so unlike decoding there is no dependency from one pixel to the next.

// func paethAVX2(dst, cur, prev *uint8, n, bpp int)
TEXT ·paethAVX2(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ cur+8(FP), SI
	MOVQ prev+16(FP), DX
	MOVQ n+24(FP), CX
	MOVQ bpp+32(FP), R8
	LEAQ (SI)(R8*1), R9  // x = cur[bpp:]
	LEAQ (DX)(R8*1), R10 // b = prev[bpp:]
	ADDQ R8, DI          // out = dst[bpp:]
	XORQ BX, BX

loop:
	CMPQ         BX, CX
	JGE          done
	VPMOVZXBW    (SI)(BX*1), Y0  // a
	VPMOVZXBW    (R10)(BX*1), Y1 // b
	VPMOVZXBW    (DX)(BX*1), Y2  // c
	VPSUBW       Y2, Y1, Y3      // b − c
	VPSUBW       Y2, Y0, Y4      // a − c
	VPADDW       Y3, Y4, Y5      // a + b − 2c
	VPABSW       Y3, Y3          // pa
	VPABSW       Y4, Y4          // pb
	VPABSW       Y5, Y5          // pc
	VPCMPGTW     Y4, Y3, Y6      // pa > pb
	VPCMPGTW     Y5, Y3, Y7      // pa > pc
	VPOR         Y7, Y6, Y6      // not a
	VPCMPGTW     Y5, Y4, Y7      // pb > pc
	VPBLENDVB    Y7, Y2, Y1, Y8  // pb > pc ? c : b
	VPBLENDVB    Y6, Y8, Y0, Y8  // not a ? that : a
	VEXTRACTI128 $1, Y8, X9
	VPACKUSWB    X9, X8, X8      // the 16 predictions as bytes, in order
	VMOVDQU      (R9)(BX*1), X10
	VPSUBB       X8, X10, X10
	VMOVDQU      X10, (DI)(BX*1)
	ADDQ         $16, BX
	JMP          loop

done:
	VZEROUPPER
	RET
