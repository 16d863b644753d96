package imaging

import (
	"runtime"
	"sync"
)

// minParallelBytes is the least work, in bytes written, worth a second
// goroutine. By estimate, a row kernel needs a tenth of a millisecond for
// it, far more than starting a goroutine costs.
const minParallelBytes = 256 << 10

// forRanges splits [0, n) into consecutive ranges and calls f on each, on
// up to GOMAXPROCS goroutines at once. rowBytes estimates the bytes f writes
// per index; work under minParallelBytes a goroutine runs in the caller
// alone. f must be safe to call concurrently on disjoint ranges. A panic in
// f is raised again in the caller once every range has ended, so that the
// caller's recover sees it.
func forRanges(n, rowBytes int, f func(lo, hi int)) {
	parts := min(runtime.GOMAXPROCS(0), n, max(1, n*rowBytes/minParallelBytes))
	if parts <= 1 {
		if n > 0 {
			f(0, n)
		}
		return
	}

	var wg sync.WaitGroup
	var mu sync.Mutex
	var failure any
	for k := 1; k < parts; k++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if p := recover(); p != nil {
					mu.Lock()
					failure = p
					mu.Unlock()
				}
			}()
			f(k*n/parts, (k+1)*n/parts)
		}()
	}
	func() {
		defer func() {
			if p := recover(); p != nil {
				mu.Lock()
				failure = p
				mu.Unlock()
			}
		}()
		f(0, n/parts)
	}()
	wg.Wait()
	if failure != nil {
		panic(failure)
	}
}
