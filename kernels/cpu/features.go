package cpu

// UseAVX512 and UseAVX2 select the convolution micro-kernel: AVX-512 when
// UseAVX512 is true, otherwise AVX2 with FMA when UseAVX2 is true, otherwise
// portable Go. They are set once at init from the CPU's feature bits and
// are false on other architectures and under the build tag noasm. Setting
// one to true on a CPU without that instruction set crashes the process
// with an illegal instruction. They are read at every call without
// synchronization: change them only while no kernel runs (tests do so to
// compare implementations).
var UseAVX512, UseAVX2 bool

func init() {
	UseAVX512, UseAVX2 = detectFeatures()
}
