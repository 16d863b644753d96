package daemon

import (
	"encoding/json"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestRateLimiterBucket(t *testing.T) {
	l := newRateLimiter(2, 3, 100) // 2 tokens a second, bursts of 3
	client := netip.MustParseAddr("192.0.2.1")
	t0 := time.Unix(1_700_000_000, 0)

	steps := []struct {
		name      string
		at        time.Duration // after t0
		allowed   bool
		remaining int
		reset     time.Duration // after t0
		retry     time.Duration
	}{
		{"first", 0, true, 2, 500 * time.Millisecond, 0},
		{"second", 0, true, 1, time.Second, 0},
		{"third", 0, true, 0, 1500 * time.Millisecond, 0},
		{"empty", 0, false, 0, 1500 * time.Millisecond, 500 * time.Millisecond},
		{"half a token back", 250 * time.Millisecond, false, 0, 1500 * time.Millisecond,
			250 * time.Millisecond},
		{"one token back", 500 * time.Millisecond, true, 0, 2000 * time.Millisecond, 0},
		{"refilled to the burst", 10 * time.Second, true, 2, 10*time.Second + 500*time.Millisecond,
			0},
	}
	for _, st := range steps {
		d := l.take(client, t0.Add(st.at))
		if d.allowed != st.allowed {
			t.Errorf("%s: allowed %v, want %v", st.name, d.allowed, st.allowed)
		}
		if d.remaining != st.remaining {
			t.Errorf("%s: remaining %d, want %d", st.name, d.remaining, st.remaining)
		}
		if got := d.reset.Sub(t0); got != st.reset {
			t.Errorf("%s: reset after %v, want %v", st.name, got, st.reset)
		}
		if d.retryAfter != st.retry {
			t.Errorf("%s: retry after %v, want %v", st.name, d.retryAfter, st.retry)
		}
	}

	// Another client has a bucket of its own.
	if d := l.take(netip.MustParseAddr("192.0.2.2"), t0); !d.allowed || d.remaining != 2 {
		t.Errorf("second client: allowed %v remaining %d, want true 2", d.allowed, d.remaining)
	}
}

func TestRateLimiterKeys(t *testing.T) {
	tests := []struct {
		a, b string
		same bool
	}{
		{"192.0.2.1", "192.0.2.1", true},
		{"192.0.2.1", "192.0.2.2", false},
		{"2001:db8:1:2::1", "2001:db8:1:2:ffff::9", true}, // one /64
		{"2001:db8:1:2::1", "2001:db8:1:3::1", false},
	}
	for _, tt := range tests {
		t.Run(tt.a+" "+tt.b, func(t *testing.T) {
			same := rateKey(netip.MustParseAddr(tt.a)) == rateKey(netip.MustParseAddr(tt.b))
			if same != tt.same {
				t.Errorf("same bucket = %v, want %v", same, tt.same)
			}
		})
	}
}

func TestRateLimiterTableBound(t *testing.T) {
	const maxClients = 50
	l := newRateLimiter(1, 2, maxClients)
	t0 := time.Unix(1_700_000_000, 0)

	// Busy clients: every one keeps an emptied bucket, so none is idle.
	for i := range 4 * maxClients {
		addr := netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})
		l.take(addr, t0.Add(time.Duration(i)*time.Millisecond))
		if n := l.clients(); n > maxClients {
			t.Fatalf("after %d clients the table has %d buckets, want at most %d",
				i+1, n, maxClients)
		}
	}
	// The most recent client kept its bucket: its second request in the
	// same instant finds one token fewer.
	last := netip.AddrFrom4([4]byte{10, 0, byte((4*maxClients - 1) >> 8),
		byte(4*maxClients - 1)})
	if d := l.take(last, t0.Add(time.Duration(4*maxClients-1)*time.Millisecond)); d.remaining != 0 {
		t.Errorf("most recent client: remaining %d, want 0 (its bucket was evicted)",
			d.remaining)
	}

	// Once every bucket has refilled, the next new client sweeps them all.
	later := t0.Add(time.Hour)
	l.take(netip.MustParseAddr("192.0.2.1"), later)
	if n := l.clients(); n != 1 {
		t.Errorf("after the idle period the table has %d buckets, want 1", n)
	}
}

// rateHeaders is the rate-limit headers of one response.
type rateHeaders struct {
	status                  int
	limit, remaining, reset int64
	retryAfter              string
}

func sendRated(t *testing.T, ts *testServer, header map[string]string) rateHeaders {
	t.Helper()
	resp, body := send(t, "POST", ts.url+"/v1/remove", "image/png", testPNG(t, 8, 8), header)
	num := func(name string) int64 {
		v, err := strconv.ParseInt(resp.Header.Get(name), 10, 64)
		if err != nil {
			t.Fatalf("header %s = %q, want an integer (status %d, %s)", name,
				resp.Header.Get(name), resp.StatusCode, body)
		}
		return v
	}
	h := rateHeaders{status: resp.StatusCode, limit: num("X-RateLimit-Limit"),
		remaining: num("X-RateLimit-Remaining"), reset: num("X-RateLimit-Reset"),
		retryAfter: resp.Header.Get("Retry-After")}
	if resp.StatusCode == http.StatusTooManyRequests {
		if e := decodeAPIError(t, resp, body); e.Error.Code != "rate_limited" {
			t.Errorf("429 code %q, want rate_limited", e.Error.Code)
		}
	}
	return h
}

func TestRateLimitHTTP(t *testing.T) {
	// 5 a second, so a token is back 200 ms after it was spent.
	ts := startServer(t, Config{Rate: 5, Burst: 3}, &pngRemover{})

	start := time.Now()
	for i := range 3 {
		h := sendRated(t, ts, nil)
		if h.status != http.StatusOK {
			t.Fatalf("request %d of the burst: status %d, want 200", i+1, h.status)
		}
		if h.limit != 3 {
			t.Errorf("request %d: X-RateLimit-Limit %d, want 3", i+1, h.limit)
		}
		if want := int64(2 - i); h.remaining > want {
			t.Errorf("request %d: X-RateLimit-Remaining %d, want at most %d", i+1,
				h.remaining, want)
		}
		if h.retryAfter != "" {
			t.Errorf("request %d: Retry-After %q on an allowed request", i+1, h.retryAfter)
		}
	}
	h := sendRated(t, ts, nil)
	elapsed := time.Since(start)
	if elapsed > 150*time.Millisecond {
		// More than 3/4 of a token came back while the burst was sent: the
		// fourth request may pass on a slow machine, so the check would
		// prove nothing.
		t.Skipf("the burst took %v; too slow to check the refusal", elapsed)
	}
	if h.status != http.StatusTooManyRequests {
		t.Fatalf("request past the burst: status %d, want 429", h.status)
	}
	if h.remaining != 0 {
		t.Errorf("429: X-RateLimit-Remaining %d, want 0", h.remaining)
	}
	if h.retryAfter != "1" {
		t.Errorf("429: Retry-After %q, want 1 (a token is back within 200 ms)", h.retryAfter)
	}
	// The bucket refills 3 tokens at 5 a second: full within 1 s from now.
	if now := time.Now().Unix(); h.reset < now || h.reset > now+2 {
		t.Errorf("429: X-RateLimit-Reset %d, want between %d and %d", h.reset, now, now+2)
	}

	time.Sleep(250 * time.Millisecond) // one token back
	if h := sendRated(t, ts, nil); h.status != http.StatusOK {
		t.Errorf("after the refill: status %d, want 200", h.status)
	}

	// Other routes are not limited and carry no rate-limit headers.
	resp, _ := send(t, "GET", ts.url+"/healthz", "", nil, nil)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-RateLimit-Limit") != "" {
		t.Errorf("healthz: status %d, X-RateLimit-Limit %q; want 200 and none",
			resp.StatusCode, resp.Header.Get("X-RateLimit-Limit"))
	}
}

func TestRateLimitOff(t *testing.T) {
	ts := startServer(t, Config{}, &pngRemover{})
	resp, _ := send(t, "POST", ts.url+"/v1/remove", "image/png", testPNG(t, 8, 8), nil)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-RateLimit-Limit") != "" {
		t.Errorf("status %d, X-RateLimit-Limit %q; want 200 and none", resp.StatusCode,
			resp.Header.Get("X-RateLimit-Limit"))
	}
}

func TestRateLimitTrustedProxy(t *testing.T) {
	forwarded := func(ip string) map[string]string {
		return map[string]string{"X-Forwarded-For": ip}
	}
	t.Run("untrusted peer", func(t *testing.T) {
		ts := startServer(t, Config{Rate: 0.01, Burst: 1}, &pngRemover{})
		if h := sendRated(t, ts, forwarded("203.0.113.1")); h.status != http.StatusOK {
			t.Fatalf("first request: status %d, want 200", h.status)
		}
		// The header is the client's own claim: the peer's bucket is empty.
		if h := sendRated(t, ts, forwarded("203.0.113.2")); h.status != 429 {
			t.Errorf("second request with another X-Forwarded-For: status %d, want 429",
				h.status)
		}
		if ips := loggedClients(t, ts); strings.Join(ips, " ") != "127.0.0.1 127.0.0.1" {
			t.Errorf("logged client_ip %v, want the peer twice", ips)
		}
	})
	t.Run("trusted peer", func(t *testing.T) {
		ts := startServer(t, Config{Rate: 0.01, Burst: 1,
			TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}, &pngRemover{})
		for _, ip := range []string{"203.0.113.1", "203.0.113.2"} {
			if h := sendRated(t, ts, forwarded(ip)); h.status != http.StatusOK {
				t.Errorf("first request from %s: status %d, want 200", ip, h.status)
			}
		}
		if h := sendRated(t, ts, forwarded("203.0.113.1")); h.status != 429 {
			t.Errorf("second request from 203.0.113.1: status %d, want 429", h.status)
		}
		want := "203.0.113.1 203.0.113.2 203.0.113.1"
		if ips := loggedClients(t, ts); strings.Join(ips, " ") != want {
			t.Errorf("logged client_ip %v, want %s", ips, want)
		}
	})
}

// loggedClients returns the client_ip of every access log line.
func loggedClients(t *testing.T, ts *testServer) []string {
	t.Helper()
	var ips []string
	for _, line := range strings.Split(strings.TrimSpace(ts.logs.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if rec["msg"] == "request" {
			ips = append(ips, rec["client_ip"].(string))
		}
	}
	return ips
}

func TestRateLimitReadErrors(t *testing.T) {
	ts := startServer(t, Config{Rate: 0.01, Burst: 1, MaxBody: 1 << 10}, &pngRemover{})

	// A body over MaxBody is rejected by fasthttp before the handler runs;
	// the response still carries the headers and the request its token.
	resp, body := send(t, "POST", ts.url+"/v1/remove", "image/png", make([]byte, 4<<10), nil)
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413 (%s)", resp.StatusCode, body)
	}
	if got := resp.Header.Get("X-RateLimit-Limit"); got != "1" {
		t.Errorf("413: X-RateLimit-Limit %q, want 1", got)
	}
	if got := resp.Header.Get("X-RateLimit-Remaining"); got != "0" {
		t.Errorf("413: X-RateLimit-Remaining %q, want 0", got)
	}
	if h := sendRated(t, ts, nil); h.status != http.StatusTooManyRequests {
		t.Errorf("request after the 413: status %d, want 429", h.status)
	}
	if h := sendRated(t, ts, nil); h.retryAfter == "" {
		t.Error("429 has no Retry-After")
	}
}

func TestRateLimitHeadersSurvivePanic(t *testing.T) {
	ts := startServer(t, Config{Rate: 1, Burst: 5}, &pngRemover{})
	resp, body := send(t, "POST", ts.url+"/v1/remove", "image/png", []byte("PANIC now"), nil)
	if resp.StatusCode != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500 (%s)", resp.StatusCode, body)
	}
	if got := resp.Header.Get("X-RateLimit-Remaining"); got != "4" {
		t.Errorf("500: X-RateLimit-Remaining %q, want 4", got)
	}
	if resp.Header.Get("X-RateLimit-Limit") == "" || resp.Header.Get("X-RateLimit-Reset") == "" {
		t.Error("500 lacks X-RateLimit-Limit or X-RateLimit-Reset")
	}
}
