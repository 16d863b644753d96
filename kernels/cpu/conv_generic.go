//go:build noasm || !amd64

package cpu

// tileSIMD is never reached without assembly kernels: chooseImpl returns
// implGo when UseAVX512 and UseAVX2 are false.
func (c *Conv) tileSIMD(j *job, q0, b0, b1 int) {
	c.tileGo(&j.geom, j.dst, j.src, q0, b0, b1)
}

// tileNarrow is never reached without assembly kernels.
func (c *Conv) tileNarrow(j *job, q0 int) {
	c.tileGo(&j.geom, j.dst, j.src, q0, 0, c.blocks)
}
