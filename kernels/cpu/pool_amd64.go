//go:build !noasm

package cpu

import "unsafe"

// maxPool2x2AVX2 writes groups·8 outputs, out[i] = max(a[2i], a[2i+1],
// b[2i], b[2i+1]), reading groups·16 floats of each row. It needs AVX2.
// Its Go twin is the loop of maxPoolRow2x2.
//
//go:noescape
func maxPool2x2AVX2(out, a, b *float32, groups int)

// maxPoolRow2x2SIMD pools as many groups of 8 outputs as it can and
// returns how many outputs it wrote.
func maxPoolRow2x2SIMD(out, a, b []float32) int {
	groups := min(len(out), len(a)/2, len(b)/2) / 8
	if !UseAVX2 || groups == 0 {
		return 0
	}
	maxPool2x2AVX2(unsafe.SliceData(out), unsafe.SliceData(a), unsafe.SliceData(b), groups)
	return 8 * groups
}
