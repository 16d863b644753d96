//go:build !noasm

#include "textflag.h"

DATA resizeQuarter<>+0(SB)/4, $0x3e800000 // 0.25
GLOBL resizeQuarter<>(SB), RODATA|NOPTR, $4
DATA resizeThreeQuarters<>+0(SB)/4, $0x3f400000 // 0.75
GLOBL resizeThreeQuarters<>(SB), RODATA|NOPTR, $4

// func blendRowsAVX2(t, a, b *float32, wa, wb float32, groups int)
//
// For each group of 8: t[i] = a[i]·wa + b[i]·wb.
TEXT ·blendRowsAVX2(SB), NOSPLIT, $0-40
	MOVQ         t+0(FP), DI
	MOVQ         a+8(FP), SI
	MOVQ         b+16(FP), DX
	VBROADCASTSS wa+24(FP), Y4
	VBROADCASTSS wb+28(FP), Y5
	MOVQ         groups+32(FP), CX
	TESTQ        CX, CX
	JZ           done

loop:
	VMULPS      (SI), Y4, Y0
	VFMADD231PS (DX), Y5, Y0
	VMOVUPS     Y0, (DI)
	ADDQ        $32, SI
	ADDQ        $32, DX
	ADDQ        $32, DI
	DECQ        CX
	JNZ         loop
	VZEROUPPER

done:
	RET

// func upsample2xAVX2(out, t *float32, groups int)
//
// For each group of 8 source positions x (t points at the first, with t[−1]
// and t[8·groups] readable): out[2x] = 0.25·t[x−1] + 0.75·t[x] and
// out[2x+1] = 0.75·t[x] + 0.25·t[x+1].
TEXT ·upsample2xAVX2(SB), NOSPLIT, $0-24
	MOVQ         out+0(FP), DI
	MOVQ         t+8(FP), SI
	MOVQ         groups+16(FP), CX
	VBROADCASTSS resizeQuarter<>(SB), Y6
	VBROADCASTSS resizeThreeQuarters<>(SB), Y7
	TESTQ        CX, CX
	JZ           updone

uploop:
	VMULPS      (SI), Y7, Y0     // 0.75·t[x]
	VMOVAPS     Y0, Y1
	VFMADD231PS -4(SI), Y6, Y0   // even
	VFMADD231PS 4(SI), Y6, Y1    // odd
	VUNPCKLPS   Y1, Y0, Y2       // e0 o0 e1 o1 | e4 o4 e5 o5
	VUNPCKHPS   Y1, Y0, Y3       // e2 o2 e3 o3 | e6 o6 e7 o7
	VPERM2F128  $0x20, Y3, Y2, Y0
	VPERM2F128  $0x31, Y3, Y2, Y1
	VMOVUPS     Y0, (DI)
	VMOVUPS     Y1, 32(DI)
	ADDQ        $32, SI
	ADDQ        $64, DI
	DECQ        CX
	JNZ         uploop
	VZEROUPPER

updone:
	RET
