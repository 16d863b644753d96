//go:build noasm || !amd64

package cpu

// winogradGroup is never reached without assembly kernels: useWinograd
// needs UseAVX512.
func (c *Conv) winogradGroup(j *job, wg *winogradGeom, work []float32, group int) {
	panic("cpu: Winograd path without AVX-512")
}
