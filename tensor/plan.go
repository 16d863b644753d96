package tensor

import (
	"fmt"
	"sort"
)

// Lifetime is when a tensor is alive during a plan's run: it is written by
// step First and last read by step Last (First <= Last). A tensor written
// before the first step uses First = -1.
type Lifetime struct {
	Size  int // elements
	First int
	Last  int
}

// Placement holds the arena offsets PlanMemory chose.
type Placement struct {
	Offsets []int // element offset of each tensor in the arena
	Total   int   // arena size in elements
}

// Align is the element alignment of every tensor: a 64-byte boundary (16
// float32s), the width of one AVX-512 load, so kernels never split a cache
// line at a tensor's start.
const Align = 16

// PlanMemory assigns arena offsets so that two tensors whose lifetimes
// overlap never share memory. It places tensors largest first, each at the
// lowest offset that fits between the tensors already placed that are alive
// at the same time: the greedy-by-size heuristic that inference engines use
// for activation memory. The result is deterministic for a given input.
func PlanMemory(lives []Lifetime) (Placement, error) {
	for i, l := range lives {
		if l.Size < 0 || l.First > l.Last {
			return Placement{}, fmt.Errorf("tensor %d: invalid lifetime %+v", i, l)
		}
	}

	order := make([]int, len(lives))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		return lives[order[a]].Size > lives[order[b]].Size
	})

	offsets := make([]int, len(lives))
	placed := make([]int, 0, len(lives))
	total := 0
	for _, i := range order {
		offsets[i] = lowestFit(lives, offsets, placed, i)
		placed = append(placed, i)
		if end := offsets[i] + roundUp(lives[i].Size); end > total {
			total = end
		}
	}
	return Placement{Offsets: offsets, Total: total}, nil
}

// lowestFit returns the lowest aligned offset where tensor i overlaps no
// placed tensor that is alive at the same time.
func lowestFit(lives []Lifetime, offsets, placed []int, i int) int {
	type span struct{ start, end int }
	var busy []span
	for _, j := range placed {
		if lives[j].Last < lives[i].First || lives[i].Last < lives[j].First {
			continue
		}
		busy = append(busy, span{offsets[j], offsets[j] + roundUp(lives[j].Size)})
	}
	sort.Slice(busy, func(a, b int) bool { return busy[a].start < busy[b].start })

	offset := 0
	size := roundUp(lives[i].Size)
	for _, s := range busy {
		if offset+size <= s.start {
			break
		}
		if s.end > offset {
			offset = s.end
		}
	}
	return offset
}

func roundUp(n int) int {
	return (n + Align - 1) / Align * Align
}
