//go:build noasm || !amd64

package cpu

// maxPoolRow2x2SIMD writes nothing: there is no assembly kernel.
func maxPoolRow2x2SIMD(out, a, b []float32) int { return 0 }
