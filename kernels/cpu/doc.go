// Package cpu holds the CPU kernels of the inference engine: convolution,
// max pooling, bilinear resize and the elementwise operations (Add, ReLU,
// Sigmoid), on float32 tensors in NCHW layout.
//
// The package owns only arithmetic on caller-owned slices. It never
// allocates tensors and never keeps a reference to a slice after a call
// returns. Graphs, models and memory plans belong to the engine, which
// sizes every buffer (Conv.ScratchFloats returns the scratch a convolution
// needs) and calls the kernels in order.
//
// # Parallelism
//
// Every kernel takes a *Pool and splits its work into units that the
// pool's workers claim one at a time, so a core slowed by other load takes
// fewer units. A nil *Pool runs the work on the calling goroutine. Each
// output element is computed by one unit in a fixed order, so results do
// not depend on the number of workers or on the batch size.
//
// # Instruction sets
//
// Convolution has three implementations of its micro-kernel. The AVX-512
// one computes 8 output channels × 48 pixels in 24 zmm accumulators, or
// one channel × 384 pixels when OutC ≤ 4. The AVX2 one (with FMA) computes
// 4 output channels × 24 pixels in 12 ymm accumulators, and the third is
// portable Go. 3×3 convolutions of stride 1
// with at least 16 input and output channels and outputs at least 32 wide
// run as Winograd F(2×2, 3×3) instead, which needs 2.25 times fewer
// multiplies: with AVX-512 for dilations 1, 2, 4 and 8, with AVX2 for
// dilation 1; see winograd.go. NewConv then keeps a second copy of the
// weights, 16/9 the size of the first.
//
// UseAVX512 and UseAVX2 are set once at init from the CPU's feature bits;
// tests clear them to exercise the slower paths, and the build tag noasm
// leaves them false for good. Each implementation is tested against the
// plain reference kernels in reference.go.
//
// TestISNetConvThroughput (go test -run ISNetConvThroughput -v) reports
// the GMAC/s of every convolution of one ISNet forward pass on the machine
// at hand, and BenchmarkConv compares the paths shape by shape.
//
// # Convolution layout
//
// The direct path first copies each image into scratch with its zero
// padding applied, one plane per input channel (as does the AVX2 Winograd
// path). For stride 1 the rows of a plane
// are Wq = W + max(PadLeft, PadRight) floats apart: the right padding of one
// row doubles as the left padding of the next. An output pixel (y, x) is
// then the flat position y·Wq + x, and every kernel tap reads the input at
// that flat position plus a fixed offset, so a run of consecutive output
// positions is one contiguous load per tap whatever the image width. The
// positions with x ≥ OW fall on padding and are computed but not stored.
// A stride s > 1 is turned into stride 1 by splitting each padded input
// plane into its s×s phases (the samples at rows ≡ a and columns ≡ b mod s),
// each tap reading the phase plane it falls on.
package cpu
