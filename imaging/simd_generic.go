//go:build noasm || !amd64

package imaging

// useAVX2 is false without assembly kernels; the stubs are never called.
var useAVX2 = false

func rowsU8AVX2(dst *uint8, n int, src *uint8, offsets *int, pairs *int32, npairs int) {
	panic("imaging: no assembly kernels in this build")
}

func rowsI16AVX2(dst *uint8, n int, src *int16, offsets *int, pairs *int32, npairs int) {
	panic("imaging: no assembly kernels in this build")
}
