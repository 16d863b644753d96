//go:build noasm || !amd64

package imaging

func paethAVX2(dst, cur, prev *uint8, n, bpp int) {
	panic("imaging: no assembly kernels in this build")
}

func adler32AVX2(p *uint8, blocks int, taps *[32]uint8) (s1, s2, ps uint64) {
	panic("imaging: no assembly kernels in this build")
}

func interleaveAVX2(dst, rgb, alpha *uint8, n int, masks *[48]uint8) {
	panic("imaging: no assembly kernels in this build")
}
