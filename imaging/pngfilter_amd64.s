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

// Adler-32 over 32-byte blocks: VPSADBW sums each block's bytes into four
// quadword lanes (s1); before each block the running s1 lanes are added to
// ps; VPMADDUBSW against the taps 32…1 and VPMADDWD against words of 1
// give each block's weighted sum in eight doubleword lanes (s2). The lanes
// are added up at the end; the caller reduces modulo 65521.

// func adler32AVX2(p *uint8, blocks int, taps *[32]uint8) (s1, s2, ps uint64)
TEXT ·adler32AVX2(SB), NOSPLIT, $0-48
	MOVQ      p+0(FP), SI
	MOVQ      blocks+8(FP), CX
	MOVQ      taps+16(FP), DX
	VMOVDQU   (DX), Y5
	VPCMPEQW  Y6, Y6, Y6
	VPSRLW    $15, Y6, Y6 // words of 1
	VPXOR     Y7, Y7, Y7
	VPXOR     Y0, Y0, Y0  // s1 lanes
	VPXOR     Y1, Y1, Y1  // s2 lanes
	VPXOR     Y2, Y2, Y2  // ps lanes

adlerLoop:
	VMOVDQU    (SI), Y3
	VPADDQ     Y0, Y2, Y2
	VPSADBW    Y7, Y3, Y4
	VPADDQ     Y4, Y0, Y0
	VPMADDUBSW Y5, Y3, Y4
	VPMADDWD   Y6, Y4, Y4
	VPADDD     Y4, Y1, Y1
	ADDQ       $32, SI
	DECQ       CX
	JNZ        adlerLoop

	VEXTRACTI128 $1, Y0, X4
	VPADDQ       X4, X0, X0
	VPSHUFD      $0x4e, X0, X4
	VPADDQ       X4, X0, X0
	MOVQ         X0, s1+24(FP)

	VEXTRACTI128 $1, Y1, X4
	VPADDD       X4, X1, X1
	VPSHUFD      $0x4e, X1, X4
	VPADDD       X4, X1, X1
	VPSHUFD      $0xb1, X1, X4
	VPADDD       X4, X1, X1
	MOVL         X1, AX
	MOVQ         AX, s2+32(FP)

	VEXTRACTI128 $1, Y2, X4
	VPADDQ       X4, X2, X2
	VPSHUFD      $0x4e, X2, X4
	VPADDQ       X4, X2, X2
	MOVQ         X2, ps+40(FP)
	VZEROUPPER
	RET

// Each step turns 8 pixels into RGBA: two 16-byte loads, at 0 and 12
// bytes, each hold 4 RGB pixels in their first 12 bytes, and VPSHUFB
// spreads them to 4-byte slots with zeros for alpha; two more shuffles
// place the 8 alpha bytes in those zeros. A pixel whose alpha slot equals
// zero as a whole 32-bit word is cleared, RGB included.

// func interleaveAVX2(dst, rgb, alpha *uint8, n int, masks *[48]uint8)
TEXT ·interleaveAVX2(SB), NOSPLIT, $0-40
	MOVQ    dst+0(FP), DI
	MOVQ    rgb+8(FP), SI
	MOVQ    alpha+16(FP), DX
	MOVQ    n+24(FP), CX
	MOVQ    masks+32(FP), R8
	VMOVDQU 0(R8), X5  // RGB to slots 0-2 of each pixel
	VMOVDQU 16(R8), X6 // alpha bytes 0-3 to slot 3
	VMOVDQU 32(R8), X7 // alpha bytes 4-7 to slot 3
	VPXOR   X8, X8, X8
	SHRQ    $3, CX

interleaveLoop:
	VMOVDQU (SI), X0
	VMOVDQU 12(SI), X1
	VMOVQ   (DX), X2
	VPSHUFB X5, X0, X0
	VPSHUFB X5, X1, X1
	VPSHUFB X6, X2, X3
	VPSHUFB X7, X2, X4
	VPCMPEQD X8, X3, X9  // all ones where alpha is 0
	VPCMPEQD X8, X4, X10
	VPOR    X3, X0, X0
	VPOR    X4, X1, X1
	VPANDN  X0, X9, X0
	VPANDN  X1, X10, X1
	VMOVDQU X0, (DI)
	VMOVDQU X1, 16(DI)
	ADDQ    $24, SI
	ADDQ    $8, DX
	ADDQ    $32, DI
	DECQ    CX
	JNZ     interleaveLoop
	RET
