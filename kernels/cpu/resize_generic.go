//go:build noasm || !amd64

package cpu

// blendRowsSIMD writes nothing: there is no assembly kernel.
func blendRowsSIMD(t, a, b []float32, wa, wb float32) int { return 0 }

// upsampleRow2xSIMD does nothing: there is no assembly kernel.
func upsampleRow2xSIMD(out, t []float32) int { return 1 }
