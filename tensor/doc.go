// Package tensor owns the float32 tensors the engine computes on and the
// memory they live in.
//
// A plan's activations are not allocated one by one: PlanMemory assigns each
// tensor an offset in one arena from the steps where it is first written and
// last read, so tensors whose lifetimes do not overlap share memory and the
// peak stays close to the largest set of tensors alive at once. Arena memory
// is mapped outside the Go heap, so a few hundred MiB of activations add no
// garbage-collector work and can be locked in RAM.
//
// Package tensor knows nothing about models, kernels or HTTP.
package tensor
