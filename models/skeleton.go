package models

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"os"
)

// LoadSkeleton reads a model whose large initializers carry dims but no data
// (such as isnet_skeleton.onnx, ISNet with every initializer over 64
// elements emptied) and folds it like LoadPlan. Each convolution weight or
// bias without data is filled with deterministic pseudo-random values, for
// timing and kernel checks where the trained weights are not available.
// See ParseSkeleton.
func LoadSkeleton(path string, side int, seed uint64) (*Plan, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load skeleton: %w", err)
	}
	p, err := ParseSkeleton(data, side, seed)
	if err != nil {
		return nil, fmt.Errorf("load skeleton %s: %w", path, err)
	}
	return p, nil
}

// ParseSkeleton is ParsePlan for a model whose initializers may lack data.
// A missing weight is drawn uniformly from ±sqrt(6/fanIn), He
// initialization (variance 2/fanIn, which keeps the scale of ReLU
// activations steady from layer to layer), and a missing bias from
// ±1/sqrt(fanIn), where fanIn is InC×KH×KW. The values depend only on seed
// and the tensor's name, so equal inputs give equal plans. Tensors that do
// carry data are used as stored. Only convolution weights and biases may
// lack data; any other such tensor is an error as in ParsePlan.
//
// The plan's activations stay finite but its output is no mask: ISNet's
// skeleton with seed 1 on a uniform random input gave values in [0, 1]
// with a mean of 5e-6.
func ParseSkeleton(data []byte, side int, seed uint64) (*Plan, error) {
	return parsePlan(data, side, func(name, role string, dst []float32, fanIn int) {
		h := fnv.New64a()
		h.Write([]byte(name))
		rng := rand.New(rand.NewPCG(seed, h.Sum64()))
		limit := 1 / math.Sqrt(float64(fanIn))
		if role == "weight" {
			limit *= math.Sqrt(6)
		}
		for i := range dst {
			dst[i] = float32((2*rng.Float64() - 1) * limit)
		}
	})
}
