//go:build noasm || !amd64

package imaging

func paethAVX2(dst, cur, prev *uint8, n, bpp int) {
	panic("imaging: no assembly kernels in this build")
}
