//go:build !noasm

package imaging

// paethAVX2 writes the Paeth-filtered bytes of one PNG row:
// dst[bpp+i] = cur[bpp+i] − paeth(cur[i], prev[bpp+i], prev[i]) for
// 0 ≤ i < n. n must be a multiple of 16, and dst, cur and prev must hold
// bpp+n bytes. It needs AVX2 (useAVX2). Go reference: filterPaethGo.
//
//go:noescape
func paethAVX2(dst, cur, prev *uint8, n, bpp int)

// adler32AVX2 sums blocks of 32 bytes from p for an Adler-32 update:
// s1 is the sum of the bytes, s2 the sum over blocks of Σ (32−j)·p[j] for
// the block's bytes p[0..31], and ps the sum over blocks of the bytes of
// all the blocks before it. blocks must be at least 1 and at most
// adler32MaxBlocks, so that no 32-bit lane overflows. taps holds 32, 31,
// …, 1. It needs AVX2 (useAVX2). Go reference: hash/adler32, through
// adler32Digest.
//
//go:noescape
func adler32AVX2(p *uint8, blocks int, taps *[32]uint8) (s1, s2, ps uint64)

// interleaveAVX2 writes n RGBA pixels to dst from n RGB pixels and n alpha
// bytes: dst[4i:4i+4] = rgb[3i:3i+3], alpha[i], or four zeros where
// alpha[i] is 0. n must be a positive
// multiple of 8, and rgb must hold 3n+4 bytes, since the last load reads
// 4 bytes past the last pixel. masks holds the three shuffle masks of
// interleaveMasks. It needs AVX2 (useAVX2). Go reference: interleaveGo.
//
//go:noescape
func interleaveAVX2(dst, rgb, alpha *uint8, n int, masks *[48]uint8)
