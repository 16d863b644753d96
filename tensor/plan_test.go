package tensor

import (
	"math/rand"
	"testing"
)

func overlaps(a, b Lifetime) bool {
	return !(a.Last < b.First || b.Last < a.First)
}

func TestPlanMemoryNoLiveOverlap(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for trial := 0; trial < 200; trial++ {
		n := 1 + rng.Intn(40)
		lives := make([]Lifetime, n)
		sum := 0
		for i := range lives {
			first := rng.Intn(30) - 1
			lives[i] = Lifetime{Size: rng.Intn(5000), First: first, Last: first + rng.Intn(10)}
			sum += roundUp(lives[i].Size)
		}

		p, err := PlanMemory(lives)
		if err != nil {
			t.Fatal(err)
		}
		if p.Total > sum {
			t.Fatalf("trial %d: total %d exceeds the sum of sizes %d", trial, p.Total, sum)
		}
		for i := range lives {
			if p.Offsets[i]%Align != 0 {
				t.Fatalf("trial %d: offset %d of tensor %d is not aligned", trial, p.Offsets[i], i)
			}
			if p.Offsets[i]+lives[i].Size > p.Total {
				t.Fatalf("trial %d: tensor %d ends past the arena", trial, i)
			}
			for j := i + 1; j < n; j++ {
				if !overlaps(lives[i], lives[j]) {
					continue
				}
				ai, bi := p.Offsets[i], p.Offsets[i]+lives[i].Size
				aj, bj := p.Offsets[j], p.Offsets[j]+lives[j].Size
				if ai < bj && aj < bi {
					t.Fatalf("trial %d: live tensors %d [%d,%d) and %d [%d,%d) share memory",
						trial, i, ai, bi, j, aj, bj)
				}
			}
		}
	}
}

func TestPlanMemoryReusesDeadTensors(t *testing.T) {
	// A chain a -> b -> c: a is dead once b is written, so c can take a's place.
	lives := []Lifetime{
		{Size: 100, First: -1, Last: 0},
		{Size: 100, First: 0, Last: 1},
		{Size: 100, First: 1, Last: 2},
	}
	p, err := PlanMemory(lives)
	if err != nil {
		t.Fatal(err)
	}
	if want := 2 * roundUp(100); p.Total != want {
		t.Fatalf("total = %d elements, want %d", p.Total, want)
	}
}

func TestPlanMemoryRejectsInvalidLifetime(t *testing.T) {
	if _, err := PlanMemory([]Lifetime{{Size: 1, First: 3, Last: 2}}); err == nil {
		t.Fatal("expected an error for First > Last")
	}
}

func TestArenaSliceAndClose(t *testing.T) {
	a, err := NewArena(1 << 16)
	if err != nil {
		t.Fatal(err)
	}
	s := a.Slice(16, 32)
	for i := range s {
		s[i] = float32(i)
	}
	if got := a.Floats()[16+31]; got != 31 {
		t.Fatalf("arena element = %v, want 31", got)
	}
	if len(s) != 32 || cap(s) != 32 {
		t.Fatalf("slice len/cap = %d/%d, want 32/32", len(s), cap(s))
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
}
