//go:build !noasm

package cpu

import "unsafe"

// blendRowsAVX2 writes t[i] = a[i]·wa + b[i]·wb for groups·8 elements. It
// needs AVX2 and FMA. Its Go twin is the loop of blendRows.
//
//go:noescape
func blendRowsAVX2(t, a, b *float32, wa, wb float32, groups int)

// upsample2xAVX2 writes the half_pixel 2× interpolation of groups·8 source
// positions from t, reading t[−1] through t[8·groups]. It needs AVX2 and
// FMA. Its Go twin is the loop of upsampleRow2x.
//
//go:noescape
func upsample2xAVX2(out, t *float32, groups int)

// blendRowsSIMD blends as many groups of 8 as it can and returns how many
// elements it wrote.
func blendRowsSIMD(t, a, b []float32, wa, wb float32) int {
	groups := len(t) / 8
	if !UseAVX2 || groups == 0 {
		return 0
	}
	blendRowsAVX2(unsafe.SliceData(t), unsafe.SliceData(a), unsafe.SliceData(b), wa, wb, groups)
	return 8 * groups
}

// upsampleRow2xSIMD interpolates the source positions 1 .. 8·groups that
// have both neighbors in t, and returns the first position it did not do.
func upsampleRow2xSIMD(out, t []float32) int {
	groups := (len(t) - 2) / 8
	if !UseAVX2 || groups <= 0 {
		return 1
	}
	upsample2xAVX2(&out[2], &t[1], groups)
	return 1 + 8*groups
}
