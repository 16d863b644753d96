package imaging

import (
	"bytes"
	"runtime"
	"sync"
	"testing"
)

func TestForRangesCoversOnce(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	for _, c := range []struct{ n, rowBytes int }{
		{0, 1}, {1, 1 << 30}, {3, 1 << 30}, {1000, 1}, {1000, 1 << 20}, {1023, 4096},
	} {
		var mu sync.Mutex
		seen := make([]int, c.n)
		calls := 0
		forRanges(c.n, c.rowBytes, func(lo, hi int) {
			mu.Lock()
			defer mu.Unlock()
			calls++
			for i := lo; i < hi; i++ {
				seen[i]++
			}
		})
		for i, k := range seen {
			if k != 1 {
				t.Fatalf("n %d: index %d visited %d times", c.n, i, k)
			}
		}
		if c.n*c.rowBytes < minParallelBytes && calls > 1 {
			t.Errorf("n %d, %d bytes a row: %d calls, want 1", c.n, c.rowBytes, calls)
		}
	}
}

func TestForRangesPanicReachesCaller(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	defer func() {
		if p := recover(); p != "boom" {
			t.Fatalf("recovered %v, want the worker's panic", p)
		}
	}()
	forRanges(1000, 1<<20, func(lo, hi int) {
		if lo > 0 {
			panic("boom")
		}
	})
	t.Fatal("forRanges returned after a panic")
}

// TestResizeParallelSameBytes resizes in every pass kind on one core and
// on four and requires identical output.
func TestResizeParallelSameBytes(t *testing.T) {
	cases := []struct{ sw, sh, dw, dh, ch, o int }{
		{1920, 1080, 1024, 1024, 3, 1}, // reduce down, enlarge across
		{4000, 3000, 1024, 1024, 4, 1}, // box and reduce on both axes
		{1024, 1024, 1920, 1080, 1, 1}, // enlarge both
		{1024, 1024, 1080, 1920, 1, 6}, // enlarge, swapped axes
		{3000, 2000, 1024, 1024, 3, 8}, // box, reduce, swapped and mirrored
	}
	for _, c := range cases {
		src := smooth(c.sw, c.sh, c.ch)
		run := func(procs int) []uint8 {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
			dst := make([]uint8, c.dw*c.dh*c.ch)
			resizeOriented(dst, c.dw, c.dh, src, c.sw, c.sh, c.ch, c.o)
			return dst
		}
		if !bytes.Equal(run(1), run(4)) {
			t.Errorf("%dx%d -> %dx%d, %d channels, orientation %d: outputs differ",
				c.sw, c.sh, c.dw, c.dh, c.ch, c.o)
		}
	}
}
