package engine

import (
	"testing"

	"github.com/rmbgd/rmbgd/models"
	"github.com/rmbgd/rmbgd/tensor"
)

// TestConcatInPlace checks which concatenation inputs a batch of one
// computes in place, on a plan of ReLU steps around three concatenations.
// cat1 reads a, b and the plan's input; a is read again after cat1, which
// then lives as long. cat2 reads f, d and e, of 9 floats each; only f, at
// offset 0, starts on an aligned boundary. cat3 reads a, which cat1 took,
// and h twice, so it copies all three.
func TestConcatInPlace(t *testing.T) {
	values := []models.Value{
		{Name: "in", C: 1, H: 8, W: 8},   // 0: the plan's input
		{Name: "a", C: 1, H: 8, W: 8},    // 1: read by cat1, by d, e and f, and by cat3
		{Name: "b", C: 1, H: 8, W: 8},    // 2: read by cat1 only
		{Name: "cat1", C: 3, H: 8, W: 8}, // 3
		{Name: "d", C: 1, H: 3, W: 3},    // 4: read by cat2 only, at offset 9
		{Name: "e", C: 1, H: 3, W: 3},    // 5: read by cat2 only, at offset 18
		{Name: "f", C: 1, H: 3, W: 3},    // 6: read by cat2 only, at offset 0
		{Name: "cat2", C: 3, H: 3, W: 3}, // 7: the plan's output
		{Name: "g", C: 3, H: 8, W: 8},    // 8: written by cat1's reader
		{Name: "h", C: 1, H: 8, W: 8},    // 9: read twice by cat3
		{Name: "cat3", C: 3, H: 8, W: 8}, // 10
	}
	relu := func(in, out int) models.Step {
		return models.Step{Op: models.OpRelu, Inputs: []int{in}, Output: out}
	}
	plan := &models.Plan{
		Values: values,
		Steps: []models.Step{
			relu(0, 1),
			relu(0, 2),
			{Op: models.OpConcat, Inputs: []int{1, 2, 0}, Output: 3},
			relu(3, 8),
			relu(1, 4),
			relu(1, 5),
			relu(1, 6),
			relu(8, 9),
			{Op: models.OpConcat, Inputs: []int{1, 9, 9}, Output: 10},
			{Op: models.OpConcat, Inputs: []int{6, 4, 5}, Output: 7},
		},
		Input:  0,
		Output: 7,
	}
	lives := lifetimes(plan, 1)
	got := map[int]inPlaceValue{}
	for _, v := range concatInPlace(plan, lives) {
		got[v.value] = v
	}

	want := map[int]inPlaceValue{
		1: {value: 1, concat: 3, offset: 0},  // a: also read by other steps
		2: {value: 2, concat: 3, offset: 64}, // b: read once
		6: {value: 6, concat: 7, offset: 0},  // f: first input of cat2
	}
	if len(got) != len(want) {
		t.Errorf("in place: %v, want %v", got, want)
	}
	for v, w := range want {
		if got[v] != w {
			t.Errorf("value %s: %+v, want %+v", values[v].Name, got[v], w)
		}
	}
	for _, v := range []int{0, 4, 5, 9} {
		if _, ok := got[v]; ok {
			t.Errorf("value %s is in place, want a copy", values[v].Name)
		}
	}
	for _, v := range []int{1, 2, 6} {
		if lives[v].Size != 0 {
			t.Errorf("in-place value %s keeps size %d, want 0", values[v].Name, lives[v].Size)
		}
	}
	if lives[3].First != 0 || lives[3].Last != 8 {
		t.Errorf("cat1 lives over steps %d to %d, want 0 (where a is written) to 8 "+
			"(where cat3 reads a)", lives[3].First, lives[3].Last)
	}
	if lives[7].First != 6 {
		t.Errorf("cat2 lives from step %d, want 6 (where f is written)", lives[7].First)
	}
	if _, err := tensor.PlanMemory(lives); err != nil {
		t.Fatal(err)
	}
}
