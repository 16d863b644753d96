package daemon

import (
	"hash/maphash"
	"math"
	"net/netip"
	"sync"
	"time"
)

// rateLimiter is a token bucket per client: each holds up to burst tokens,
// refills at rate tokens a second, and a request takes one. A bucket that
// has refilled to burst behaves exactly like a new one, so it is dropped
// from the table whenever room is needed, and the table keeps at most
// about maxClients buckets. It is safe for concurrent use.
type rateLimiter struct {
	rate  float64 // tokens a second, > 0
	burst float64 // bucket size, >= 1

	// fillTime is how long an empty bucket takes to refill.
	fillTime time.Duration

	// epoch is the zero of every bucket's time; times are durations since
	// it, so they follow the monotonic clock.
	epoch time.Time
	seed  maphash.Seed

	shardCap int
	shards   []rateShard
}

type rateShard struct {
	mu        sync.Mutex
	buckets   map[netip.Addr]tokenBucket
	lastSweep time.Duration
	_         [64]byte // keeps shards' locks on separate cache lines
}

type tokenBucket struct {
	tokens  float64
	updated time.Duration // since the limiter's epoch
}

// rateDecision is the outcome of one request against its client's bucket.
type rateDecision struct {
	allowed bool

	// remaining is the number of whole tokens left after this request.
	remaining int

	// reset is when the bucket is full again.
	reset time.Time

	// retryAfter is how long until one token is back; zero when allowed.
	retryAfter time.Duration
}

// newRateLimiter returns a limiter of rate requests a second with bursts of
// burst, keeping about maxClients buckets. rate must be > 0 and burst >= 1.
func newRateLimiter(rate float64, burst, maxClients int) *rateLimiter {
	// One shard for small tables, so that the bound is exact; up to 64 for
	// large ones, so that concurrent requests rarely share a lock.
	shards := 1
	for shards < 64 && maxClients/(shards*2) >= 1024 {
		shards *= 2
	}
	l := &rateLimiter{
		rate:     rate,
		burst:    float64(burst),
		fillTime: time.Duration(float64(burst) / rate * float64(time.Second)),
		epoch:    time.Now(),
		seed:     maphash.MakeSeed(),
		shardCap: max(1, (maxClients+shards-1)/shards),
		shards:   make([]rateShard, shards),
	}
	for i := range l.shards {
		l.shards[i].buckets = make(map[netip.Addr]tokenBucket)
	}
	return l
}

// rateKey returns the bucket key of a client address: the address itself
// for IPv4, its /64 prefix for IPv6.
func rateKey(addr netip.Addr) netip.Addr {
	if addr.Is6() {
		if p, err := addr.Prefix(64); err == nil {
			return p.Addr()
		}
	}
	return addr
}

// take spends one token of the bucket of client at now.
func (l *rateLimiter) take(client netip.Addr, now time.Time) rateDecision {
	key := rateKey(client)
	at := now.Sub(l.epoch)
	shard := &l.shards[maphash.Comparable(l.seed, key)%uint64(len(l.shards))]

	shard.mu.Lock()
	b, ok := shard.buckets[key]
	if ok {
		b.tokens = l.refill(b, at)
	} else {
		shard.makeRoom(l, at)
		b.tokens = l.burst
	}
	b.updated = at
	allowed := b.tokens >= 1
	if allowed {
		b.tokens--
	}
	shard.buckets[key] = b
	tokens := b.tokens
	shard.mu.Unlock()

	d := rateDecision{
		allowed:   allowed,
		remaining: int(math.Floor(tokens)),
		reset:     now.Add(l.secondsToDuration((l.burst - tokens) / l.rate)),
	}
	if !allowed {
		d.retryAfter = l.secondsToDuration((1 - tokens) / l.rate)
	}
	return d
}

// refill returns b's tokens at time at.
func (l *rateLimiter) refill(b tokenBucket, at time.Duration) float64 {
	elapsed := (at - b.updated).Seconds()
	return math.Min(l.burst, b.tokens+elapsed*l.rate)
}

func (l *rateLimiter) secondsToDuration(s float64) time.Duration {
	return time.Duration(math.Ceil(s * float64(time.Second)))
}

// makeRoom drops full buckets when the shard is at its cap or has not been
// swept for a refill period, and the least recently used bucket when
// the shard is still at its cap. The caller holds s.mu.
func (s *rateShard) makeRoom(l *rateLimiter, at time.Duration) {
	full := len(s.buckets) >= l.shardCap
	if !full && at-s.lastSweep < max(l.fillTime, time.Minute) {
		return
	}
	s.lastSweep = at
	for key, b := range s.buckets {
		if l.refill(b, at) >= l.burst {
			delete(s.buckets, key)
		}
	}
	if len(s.buckets) < l.shardCap {
		return
	}
	// NOTE: the evicted client gets a full bucket on its next request, so a
	// flood of distinct addresses larger than the table lets some requests
	// through beyond the rate.
	var oldest netip.Addr
	oldestAt := time.Duration(math.MaxInt64)
	for key, b := range s.buckets {
		if b.updated < oldestAt {
			oldest, oldestAt = key, b.updated
		}
	}
	delete(s.buckets, oldest)
}

// clients returns the number of buckets in the table.
func (l *rateLimiter) clients() int {
	n := 0
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		n += len(s.buckets)
		s.mu.Unlock()
	}
	return n
}
