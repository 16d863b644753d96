package bench

import (
	"bytes"
	"context"
	"image/jpeg"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// testDaemon is a loopback HTTP server in place of rmbgd. It responds to
// POST /v1/remove after delay with the status that status picks, and
// records how many requests it served at once.
type testDaemon struct {
	delay      time.Duration
	status     func(n int64) int // n counts requests from 1
	retryAfter string            // the Retry-After of responses other than 200

	requests atomic.Int64
	active   atomic.Int64
	peak     atomic.Int64
}

func (d *testDaemon) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := d.requests.Add(1)
	active := d.active.Add(1)
	defer d.active.Add(-1)
	for {
		peak := d.peak.Load()
		if active <= peak || d.peak.CompareAndSwap(peak, active) {
			break
		}
	}
	time.Sleep(d.delay)
	status := http.StatusOK
	if d.status != nil {
		status = d.status(n)
	}
	if status == 0 { // drop the connection without a response
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
		return
	}
	w.Header().Set("Server-Timing", "queue;dur=0.0, pre;dur=1.0, infer;dur=12.5, post;dur=1.0")
	if status != http.StatusOK && d.retryAfter != "" {
		w.Header().Set("Retry-After", d.retryAfter)
	}
	w.WriteHeader(status)
	w.Write([]byte("body"))
}

func startTestDaemon(t *testing.T, d *testDaemon) string {
	t.Helper()
	srv := httptest.NewServer(d) // listens on 127.0.0.1
	t.Cleanup(srv.Close)
	return srv.URL + "/v1/remove"
}

var testImage = []byte("\x89PNG\r\n\x1a\n not really a png")

func TestLoadOpenLoopCount(t *testing.T) {
	d := &testDaemon{}
	url := startTestDaemon(t, d)
	rep, err := RunLoad(context.Background(), LoadOptions{URL: url, Image: testImage,
		Rate: 50, Duration: 400 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	// Sends at 0, 20, ..., 380 ms.
	if rep.Sent != 20 || rep.OK != 20 || d.requests.Load() != 20 {
		t.Errorf("sent %d, OK %d, served %d; want 20 each", rep.Sent, rep.OK,
			d.requests.Load())
	}
	if rep.Mode != "open" || rep.Rate != 50 {
		t.Errorf("mode %q rate %v, want open 50", rep.Mode, rep.Rate)
	}
	if rep.MedianInferMs != 12.5 {
		t.Errorf("median infer %v ms, want 12.5 from Server-Timing", rep.MedianInferMs)
	}
	if len(rep.Errors) != 0 {
		t.Errorf("errors %v, want none", rep.Errors)
	}
}

func TestLoadOpenLoopCountsFromSchedule(t *testing.T) {
	// One request at a time on a server that takes 50 ms, scheduled every
	// 10 ms: the sends fall behind and the latency, measured from the
	// schedule, grows with the backlog. A client that measured from its own
	// send would see about 50 ms for every request.
	const service = 50 * time.Millisecond
	d := &testDaemon{delay: service}
	url := startTestDaemon(t, d)
	rep, err := RunLoad(context.Background(), LoadOptions{URL: url, Image: testImage,
		Rate: 100, Duration: 100 * time.Millisecond, MaxInFlight: 1})
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK != 10 {
		t.Fatalf("OK %d, want 10", rep.OK)
	}
	// The last send waits for nine 50 ms requests before it: its latency
	// is at least 9×50 − 90 + 50 = 410 ms, so 4× the service time is a
	// lower bound no scheduling delay can undercut.
	if rep.Latency.Max < 4*milliseconds(service) {
		t.Errorf("max latency %.0f ms, want at least %.0f ms", rep.Latency.Max,
			4*milliseconds(service))
	}
	if rep.MaxSendLagMs < 3*milliseconds(service) {
		t.Errorf("send lag %.0f ms, want at least %.0f ms", rep.MaxSendLagMs,
			3*milliseconds(service))
	}
	if d.peak.Load() != 1 {
		t.Errorf("the server saw %d requests at once, want 1", d.peak.Load())
	}
}

func TestLoadOpenLoopDoesNotWait(t *testing.T) {
	// A server slower than the arrival rate gets requests while earlier ones
	// are in progress: the open loop does not wait for responses.
	d := &testDaemon{delay: 100 * time.Millisecond}
	url := startTestDaemon(t, d)
	rep, err := RunLoad(context.Background(), LoadOptions{URL: url, Image: testImage,
		Rate: 100, Duration: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK != 10 {
		t.Errorf("OK %d, want 10", rep.OK)
	}
	if d.peak.Load() < 2 {
		t.Errorf("the server saw at most %d request at once, want several", d.peak.Load())
	}
}

func TestLoadPoissonSeeded(t *testing.T) {
	url := startTestDaemon(t, &testDaemon{})
	opt := LoadOptions{URL: url, Image: testImage, Rate: 200, Duration: 200 * time.Millisecond,
		Poisson: true, Seed: 7}
	first, err := RunLoad(context.Background(), opt)
	if err != nil {
		t.Fatal(err)
	}
	second, err := RunLoad(context.Background(), opt)
	if err != nil {
		t.Fatal(err)
	}
	if first.Sent == 0 || first.Sent != second.Sent {
		t.Errorf("sent %d then %d with one seed, want the same count > 0", first.Sent,
			second.Sent)
	}
	if !first.Poisson {
		t.Error("report does not say Poisson")
	}
}

func TestLoadClosedLoop(t *testing.T) {
	d := &testDaemon{delay: 5 * time.Millisecond}
	url := startTestDaemon(t, d)
	rep, err := RunLoad(context.Background(), LoadOptions{URL: url, Image: testImage,
		Concurrency: 3, Requests: 10})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Sent != 10 || d.requests.Load() != 10 {
		t.Errorf("sent %d, served %d; want 10", rep.Sent, d.requests.Load())
	}
	if d.peak.Load() > 3 {
		t.Errorf("the server saw %d requests at once, want at most 3", d.peak.Load())
	}
	if rep.Mode != "closed" || rep.Concurrency != 3 {
		t.Errorf("mode %q concurrency %d, want closed 3", rep.Mode, rep.Concurrency)
	}
}

func TestLoadErrorsByStatus(t *testing.T) {
	d := &testDaemon{status: func(n int64) int {
		switch n % 5 {
		case 1:
			return http.StatusServiceUnavailable
		case 2:
			return http.StatusTooManyRequests
		case 3:
			return 0 // connection dropped
		}
		return http.StatusOK
	}}
	url := startTestDaemon(t, d)
	rep, err := RunLoad(context.Background(), LoadOptions{URL: url, Image: testImage,
		Concurrency: 1, Requests: 10})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"503": 2, "429": 2, "transport": 2}
	for k, v := range want {
		if rep.Errors[k] != v {
			t.Errorf("errors[%s] = %d, want %d (all: %v)", k, rep.Errors[k], v, rep.Errors)
		}
	}
	if rep.OK != 4 || rep.Responses != 8 {
		t.Errorf("OK %d responses %d, want 4 and 8", rep.OK, rep.Responses)
	}
}

// TestLoadClosedLoopPausesWithoutServer runs a closed loop against a
// loopback port where nothing listens: each client pauses after a request
// that got no response, instead of sending again at once.
func TestLoadClosedLoopPausesWithoutServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String() + "/v1/remove"
	ln.Close()

	const clients, duration = 2, 500 * time.Millisecond
	rep, err := RunLoad(context.Background(), LoadOptions{URL: url, Image: testImage,
		Concurrency: clients, Duration: duration})
	if err != nil {
		t.Fatal(err)
	}
	maxErrors := clients * int(duration/transportPause+1)
	if n := rep.Errors["transport"]; n == 0 || n > maxErrors {
		t.Errorf("%d transport errors in %v from %d clients, want 1 to %d", n, duration,
			clients, maxErrors)
	}
}

func TestLoadTimeout(t *testing.T) {
	url := startTestDaemon(t, &testDaemon{delay: 300 * time.Millisecond})
	rep, err := RunLoad(context.Background(), LoadOptions{URL: url, Image: testImage,
		Concurrency: 1, Requests: 1, Timeout: 30 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Errors["timeout"] != 1 {
		t.Errorf("errors %v, want one timeout", rep.Errors)
	}
}

func TestLoadValidation(t *testing.T) {
	base := LoadOptions{URL: "http://127.0.0.1:1/v1/remove", Image: testImage, Rate: 1,
		Duration: time.Second}
	tests := []struct {
		name   string
		change func(*LoadOptions)
		inErr  string
	}{
		{"remote host", func(o *LoadOptions) { o.URL = "http://192.0.2.1/v1/remove" },
			"not a loopback address"},
		{"bad URL", func(o *LoadOptions) { o.URL = "127.0.0.1:8080" }, "invalid URL"},
		{"no image", func(o *LoadOptions) { o.Image = nil }, "no image"},
		{"no rate", func(o *LoadOptions) { o.Rate = 0 }, "rate > 0"},
		{"no duration", func(o *LoadOptions) { o.Duration = 0 }, "duration > 0"},
		{"closed without bound", func(o *LoadOptions) { o.Rate, o.Duration, o.Concurrency = 0, 0, 2 },
			"request count or a duration"},
		{"too many", func(o *LoadOptions) { o.Rate = 1e6; o.Duration = time.Hour },
			"more than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opt := base
			tt.change(&opt)
			_, err := RunLoad(context.Background(), opt)
			if err == nil || !strings.Contains(err.Error(), tt.inErr) {
				t.Errorf("RunLoad = %v, want an error containing %q", err, tt.inErr)
			}
		})
	}
}

func TestLoadCancel(t *testing.T) {
	url := startTestDaemon(t, &testDaemon{})
	ctx, cancel := context.WithCancel(context.Background())
	var once sync.Once
	go func() {
		time.Sleep(100 * time.Millisecond)
		once.Do(cancel)
	}()
	rep, err := RunLoad(ctx, LoadOptions{URL: url, Image: testImage, Rate: 10,
		Duration: time.Hour})
	if err != context.Canceled {
		t.Errorf("RunLoad = %v, want context.Canceled", err)
	}
	if rep == nil || rep.Sent == 0 || rep.Sent > 100 {
		t.Errorf("report %+v, want the few requests sent before the cancel", rep)
	}
}

func TestPercentile(t *testing.T) {
	xs := []float64{5, 1, 4, 2, 3, 10, 9, 8, 7, 6}
	tests := []struct {
		q    float64
		want float64
	}{{0, 1}, {0.1, 1}, {0.5, 5}, {0.9, 9}, {0.99, 10}, {0.999, 10}, {1, 10}}
	for _, tt := range tests {
		if got := percentile(xs, tt.q); got != tt.want {
			t.Errorf("percentile(%v) = %v, want %v", tt.q, got, tt.want)
		}
	}
	if got := percentile(nil, 0.5); got != 0 {
		t.Errorf("percentile of nothing = %v, want 0", got)
	}
	if p := percentiles(xs); p.Mean != 5.5 || p.Max != 10 || p.P999 != 10 {
		t.Errorf("percentiles = %+v, want mean 5.5, max and p99.9 10", p)
	}
}

func TestWriteLoadReport(t *testing.T) {
	rep := &LoadReport{Mode: "open", Rate: 2, Sent: 4, Responses: 3, OK: 2, ElapsedS: 2,
		Errors: map[string]int{"503": 1, "transport": 1}}
	var out bytes.Buffer
	WriteLoadReport(&out, rep)
	for _, want := range []string{"open loop:   2 requests/s, evenly spaced",
		"4 sent, 3 responses, 2 OK", "p99.9", "503 ×1, transport ×1"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}

func TestSyntheticPhoto(t *testing.T) {
	a, err := SyntheticPhoto(192, 108)
	if err != nil {
		t.Fatal(err)
	}
	b, err := SyntheticPhoto(192, 108)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Error("two photos of one size differ")
	}
	img, err := jpeg.Decode(bytes.NewReader(a))
	if err != nil {
		t.Fatalf("not a JPEG: %v", err)
	}
	if r := img.Bounds(); r.Dx() != 192 || r.Dy() != 108 {
		t.Errorf("photo is %v, want 192x108", r)
	}
}

// TestLoadClosedLoopRetryAfter has the server shed the first request with
// 503 and Retry-After. A client waits that long before its next request,
// unless IgnoreRetryAfter is set.
func TestLoadClosedLoopRetryAfter(t *testing.T) {
	shedFirst := func(n int64) int {
		if n == 1 {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	}
	t.Run("honoured", func(t *testing.T) {
		d := &testDaemon{status: shedFirst, retryAfter: "1"}
		url := startTestDaemon(t, d)
		rep, err := RunLoad(context.Background(), LoadOptions{URL: url, Image: testImage,
			Concurrency: 1, Requests: 2})
		if err != nil {
			t.Fatal(err)
		}
		if rep.OK != 1 || rep.Errors["503"] != 1 {
			t.Errorf("OK %d, errors %v; want 1 and one 503", rep.OK, rep.Errors)
		}
		if rep.ElapsedS < 1 {
			t.Errorf("run took %.3f s, want at least the 1 s of Retry-After", rep.ElapsedS)
		}
	})
	t.Run("ignored", func(t *testing.T) {
		d := &testDaemon{status: shedFirst, retryAfter: "600"}
		url := startTestDaemon(t, d)
		rep, err := RunLoad(context.Background(), LoadOptions{URL: url, Image: testImage,
			Concurrency: 1, Requests: 2, IgnoreRetryAfter: true})
		if err != nil {
			t.Fatal(err)
		}
		if rep.OK != 1 || rep.ElapsedS > 60 {
			t.Errorf("OK %d after %.1f s; want 1, without the 600 s wait", rep.OK, rep.ElapsedS)
		}
	})
}
