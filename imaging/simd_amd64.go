//go:build !noasm

package imaging

import "golang.org/x/sys/cpu"

// useAVX2 selects the assembly row kernels. It is set once at init, and it
// is false under the build tag noasm and on other architectures. Tests
// switch it off to compare with the Go kernels while no resize runs.
var useAVX2 = cpu.X86.HasAVX2

// rowsU8AVX2 is weightedRows for n a multiple of 16: dst[i] for i < n is
// the rounded sum over p < npairs of the two taps in pairs[p] (low and high
// 16 bits) times src[offsets[2p]+i] and src[offsets[2p+1]+i], clamped to
// 8 bits. The caller guarantees offsets[k]+n ≤ len(src) for every
// 2·npairs offsets. Go reference: weightedRowsGo.
//
//go:noescape
func rowsU8AVX2(dst *uint8, n int, src *uint8, offsets *int, pairs *int32, npairs int)

// rowsI16AVX2 is rowsU8AVX2 over int16 rows; offsets are in bytes. Go
// reference: weightedRowsI16Go.
//
//go:noescape
func rowsI16AVX2(dst *uint8, n int, src *int16, offsets *int, pairs *int32, npairs int)
