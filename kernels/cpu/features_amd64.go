//go:build !noasm

package cpu

import "golang.org/x/sys/cpu"

// detectFeatures reports AVX-512 Foundation (the only AVX-512 subset the
// kernels use) and AVX2 together with FMA. The cpu package also checks
// that the operating system saves the wider registers.
func detectFeatures() (avx512, avx2 bool) {
	avx2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA
	avx512 = avx2 && cpu.X86.HasAVX512F
	return avx512, avx2
}
