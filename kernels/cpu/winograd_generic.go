//go:build noasm || !amd64

package cpu

// winogradGroup is never reached without assembly kernels: winogradPlan
// needs UseAVX512 or UseAVX2.
func (c *Conv) winogradGroup(j *job, wg *winogradGeom, work []float32, group int) {
	panic("cpu: Winograd path without assembly kernels")
}

// winogradGroupAVX2 is never reached without assembly kernels.
func (c *Conv) winogradGroupAVX2(j *job, wg *winogradGeom, work []float32, group int) {
	panic("cpu: Winograd path without assembly kernels")
}
