//go:build !noasm

package imaging

// paethAVX2 writes the Paeth-filtered bytes of one PNG row:
// dst[bpp+i] = cur[bpp+i] − paeth(cur[i], prev[bpp+i], prev[i]) for
// 0 ≤ i < n. n must be a multiple of 16, and dst, cur and prev must hold
// bpp+n bytes. It needs AVX2 (useAVX2). Go reference: filterPaethGo.
//
//go:noescape
func paethAVX2(dst, cur, prev *uint8, n, bpp int)
