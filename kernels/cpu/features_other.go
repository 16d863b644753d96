//go:build noasm || !amd64

package cpu

// detectFeatures reports no SIMD support, so every kernel runs its portable
// Go implementation.
func detectFeatures() (avx512, avx2 bool) { return false, false }
