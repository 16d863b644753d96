package bench

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Bounds of one load run, so that a typo in a flag cannot start an
// endless or unbounded run.
const (
	maxLoadRequests    = 1_000_000
	defaultLoadTimeout = 60 * time.Second
	defaultMaxInFlight = 1024
)

// LoadOptions configures RunLoad. It runs an open loop (requests sent at
// fixed times, whatever the responses do) unless Concurrency is set, which
// selects a closed loop.
type LoadOptions struct {
	// URL is the removal endpoint, such as http://127.0.0.1:8080/v1/remove.
	// Its host must be a loopback address unless AllowRemote is set.
	URL         string
	AllowRemote bool

	// Image is the photo every request sends.
	Image []byte

	// RawBody sends the image bytes as the body, with the Content-Type
	// sniffed from them. By default the body is JSON with the image in
	// base64, as the web client sends it.
	RawBody bool

	// Rate is the open loop's arrival rate in requests a second, for
	// Duration. Arrivals are evenly spaced, or a Poisson process (gaps
	// drawn from an exponential distribution seeded by Seed) with Poisson.
	Rate     float64
	Poisson  bool
	Seed     uint64
	Duration time.Duration

	// Concurrency selects the closed loop: that many clients each send
	// their next request once the previous response is in, until Requests
	// have been sent (when set) or Duration has passed (when set).
	Concurrency int
	Requests    int

	// IgnoreRetryAfter makes closed-loop clients send their next request at
	// once after a 429 or 503. By default a client first waits for the
	// response's Retry-After, as a well-behaved client does, so that a
	// server that sheds load is not flooded with retries.
	IgnoreRetryAfter bool

	// Timeout bounds each request. Default 60 s.
	Timeout time.Duration

	// MaxInFlight bounds the open loop's outstanding requests. When it is
	// reached the next send waits, and since its latency counts from its
	// scheduled time, the wait shows in the latency. Default 1024.
	MaxInFlight int
}

// Percentiles summarizes latencies in milliseconds.
type Percentiles struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p99_9"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

// LoadReport holds RunLoad's measurements.
type LoadReport struct {
	Mode        string  `json:"mode"` // "open" or "closed"
	Rate        float64 `json:"rate,omitempty"`
	Poisson     bool    `json:"poisson,omitempty"`
	Concurrency int     `json:"concurrency,omitempty"`

	Sent      int     `json:"sent"`
	Responses int     `json:"responses"` // requests that got a response, any status
	OK        int     `json:"ok"`        // responses with status 200
	ElapsedS  float64 `json:"elapsed_s"` // from the first send to the last response

	ThroughputRPS float64 `json:"throughput_rps"` // responses a second
	GoodputRPS    float64 `json:"goodput_rps"`    // 200 responses a second

	// Latency covers the 200 responses, from each request's scheduled send
	// time in the open loop (so a server that falls behind is not hidden by
	// a client that waits for it) and from its actual send in the closed
	// loop. Error responses are counted in Errors instead, because they can
	// be fast and would make the latency look better than what a user gets.
	Latency Percentiles `json:"latency_ms"`

	// Errors counts the requests without a 200 response: by status code,
	// "timeout" for those past Timeout, "transport" for other failures.
	Errors map[string]int `json:"errors"`

	// MedianInferMs is the median of the infer time the daemon reported in
	// Server-Timing for the 200 responses.
	MedianInferMs float64 `json:"median_infer_ms"`

	// MinInferMs is the shortest of those infer times: the engine's speed
	// least disturbed by other work on the machine.
	MinInferMs float64 `json:"min_infer_ms"`

	// StageMedianMs is the median of each Server-Timing stage (queue, pre,
	// infer, post, encode) and of the engine's total over the 200
	// responses.
	StageMedianMs map[string]float64 `json:"stage_median_ms,omitempty"`

	// MaxSendLagMs is how far the open loop's sender fell behind its
	// schedule, at worst: a large value means the client, not the server,
	// limited the rate.
	MaxSendLagMs float64 `json:"max_send_lag_ms,omitempty"`

	okLatencyMs []float64 // per 200 response, in completion order
	inferMs     []float64 // the infer stage of each 200 response, in completion order

	// stageMs contains each Server-Timing stage of the 200 responses, in
	// completion order, so that reports of parts of a run can be merged.
	stageMs [len(serverStages)][]float64
}

// serverStages are the stages the daemon reports in Server-Timing, and
// the engine's total time of the job.
var serverStages = [...]string{"queue", "pre", "infer", "post", "encode", "total"}

// loadSample is one request's outcome.
type loadSample struct {
	latency time.Duration
	status  int    // 0 when no response came
	failure string // "timeout" or "transport" when status is 0
	stageMs [len(serverStages)]float64

	retryAfter time.Duration // of a 429 or 503 response, when it has one
}

// loadClient sends the requests of one run.
type loadClient struct {
	client      *http.Client
	url         string
	body        []byte
	contentType string

	mu      sync.Mutex
	samples []loadSample
}

// RunLoad runs a load against opt.URL and returns its report. A run ended
// early by ctx returns the report of what was sent, with ctx's error.
func RunLoad(ctx context.Context, opt LoadOptions) (*LoadReport, error) {
	if err := opt.validate(); err != nil {
		return nil, err
	}
	lc, err := newLoadClient(opt)
	if err != nil {
		return nil, err
	}
	defer lc.client.CloseIdleConnections()

	rep := &LoadReport{Errors: map[string]int{}}
	start := time.Now()
	if opt.Concurrency > 0 {
		rep.Mode, rep.Concurrency = "closed", opt.Concurrency
		lc.runClosed(ctx, opt)
	} else {
		rep.Mode, rep.Rate, rep.Poisson = "open", opt.Rate, opt.Poisson
		rep.MaxSendLagMs = milliseconds(lc.runOpen(ctx, opt))
	}
	rep.summarize(lc.samples, time.Since(start))
	return rep, ctx.Err()
}

func (opt *LoadOptions) validate() error {
	if opt.Timeout == 0 {
		opt.Timeout = defaultLoadTimeout
	}
	if opt.MaxInFlight == 0 {
		opt.MaxInFlight = defaultMaxInFlight
	}
	switch {
	case len(opt.Image) == 0:
		return errors.New("load: no image to send")
	case opt.Timeout < 0 || opt.MaxInFlight < 0 || opt.Duration < 0 || opt.Requests < 0:
		return errors.New("load: negative timeout, in-flight bound, duration or count")
	case opt.Concurrency < 0:
		return errors.New("load: negative concurrency")
	case opt.Concurrency > 0 && opt.Requests == 0 && opt.Duration == 0:
		return errors.New("load: the closed loop needs a request count or a duration")
	case opt.Concurrency == 0 && !(opt.Rate > 0 && opt.Duration > 0):
		return errors.New("load: the open loop needs a rate > 0 and a duration > 0")
	case opt.Requests > maxLoadRequests ||
		opt.Concurrency == 0 && opt.Rate*opt.Duration.Seconds() > maxLoadRequests:
		return fmt.Errorf("load: more than %d requests in one run", maxLoadRequests)
	}
	u, err := url.Parse(opt.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("load: invalid URL %q: want http://HOST:PORT/v1/remove", opt.URL)
	}
	if !opt.AllowRemote && !isLoopbackHost(u.Hostname()) {
		return fmt.Errorf("load: %s is not a loopback address; pass --allow-remote to load "+
			"another machine", u.Hostname())
	}
	return nil
}

// isLoopbackHost reports whether host is "localhost" or a loopback IP.
func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func newLoadClient(opt LoadOptions) (*loadClient, error) {
	conns := max(opt.Concurrency, min(opt.MaxInFlight, 256))
	lc := &loadClient{
		client: &http.Client{
			Timeout: opt.Timeout,
			Transport: &http.Transport{
				MaxIdleConns:        conns,
				MaxIdleConnsPerHost: conns,
				IdleConnTimeout:     90 * time.Second,
				DisableCompression:  true,
			},
		},
		url: opt.URL,
	}
	if opt.RawBody {
		lc.body, lc.contentType = opt.Image, http.DetectContentType(opt.Image)
		return lc, nil
	}
	body, err := json.Marshal(map[string]string{
		"image": base64.StdEncoding.EncodeToString(opt.Image), "filename": "load",
	})
	if err != nil {
		return nil, err
	}
	lc.body, lc.contentType = body, "application/json"
	return lc, nil
}

// runOpen sends requests at their scheduled times for opt.Duration and
// returns the largest delay of a send past its time.
func (lc *loadClient) runOpen(ctx context.Context, opt LoadOptions) time.Duration {
	rng := rand.New(rand.NewPCG(opt.Seed, 0x10ad))
	inFlight := make(chan struct{}, opt.MaxInFlight)
	var wg sync.WaitGroup
	var maxLag time.Duration
	start := time.Now()
	at := time.Duration(0)
	for i := 0; at < opt.Duration && i < maxLoadRequests; i++ {
		scheduled := start.Add(at)
		if !sleepUntil(ctx, scheduled) {
			break
		}
		select {
		case inFlight <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		maxLag = max(maxLag, time.Since(scheduled))
		wg.Add(1)
		go func() {
			defer wg.Done()
			lc.record(lc.send(ctx, scheduled))
			<-inFlight
		}()

		if opt.Poisson {
			at += time.Duration(rng.ExpFloat64() / opt.Rate * float64(time.Second))
		} else {
			// From the index, not by adding gaps, so rounding does not drift.
			at = time.Duration(float64(i+1) / opt.Rate * float64(time.Second))
		}
	}
	wg.Wait()
	return maxLag
}

// transportPause is how long a closed-loop client waits after a request
// that got no response before it sends the next one.
const transportPause = 100 * time.Millisecond

// runClosed runs opt.Concurrency clients that each send in sequence.
func (lc *loadClient) runClosed(ctx context.Context, opt LoadOptions) {
	var deadline time.Time
	if opt.Duration > 0 {
		deadline = time.Now().Add(opt.Duration)
	}
	var mu sync.Mutex
	sent := 0
	next := func() bool {
		mu.Lock()
		defer mu.Unlock()
		limit := opt.Requests
		if limit == 0 {
			limit = maxLoadRequests
		}
		if sent >= limit || ctx.Err() != nil ||
			(!deadline.IsZero() && !time.Now().Before(deadline)) {
			return false
		}
		sent++
		return true
	}
	var wg sync.WaitGroup
	for range opt.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next() {
				s := lc.send(ctx, time.Now())
				lc.record(s)
				pause := s.retryAfter
				if opt.IgnoreRetryAfter {
					pause = 0
				}
				if s.status == 0 {
					// No response: the server may be gone. A pause keeps
					// the client from spinning on connection errors.
					pause = transportPause
				}
				if pause <= 0 {
					continue
				}
				wake := time.Now().Add(pause)
				if !deadline.IsZero() && wake.After(deadline) {
					wake = deadline
				}
				if !sleepUntil(ctx, wake) {
					return
				}
			}
		}()
	}
	wg.Wait()
}

// sleepUntil waits until t; it returns false when ctx ends first.
func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// send makes one request and measures it from scheduled.
func (lc *loadClient) send(ctx context.Context, scheduled time.Time) loadSample {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, lc.url,
		bytes.NewReader(lc.body))
	if err != nil {
		return loadSample{failure: "transport"}
	}
	req.Header.Set("Content-Type", lc.contentType)
	resp, err := lc.client.Do(req)
	if err == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	s := loadSample{latency: time.Since(scheduled)}
	if err != nil {
		s.failure = "transport"
		var netErr net.Error
		if errors.As(err, &netErr) && netErr.Timeout() {
			s.failure = "timeout"
		}
		return s
	}
	s.status = resp.StatusCode
	if s.status == http.StatusTooManyRequests || s.status == http.StatusServiceUnavailable {
		if sec, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && sec > 0 {
			s.retryAfter = time.Duration(sec) * time.Second
		}
	}
	timing := resp.Header.Get("Server-Timing")
	for i, stage := range serverStages {
		s.stageMs[i] = serverTiming(timing, stage)
	}
	return s
}

func (lc *loadClient) record(s loadSample) {
	lc.mu.Lock()
	lc.samples = append(lc.samples, s)
	lc.mu.Unlock()
}

// summarize fills the report from the samples of a run that took elapsed.
func (rep *LoadReport) summarize(samples []loadSample, elapsed time.Duration) {
	rep.Sent = len(samples)
	rep.ElapsedS = elapsed.Seconds()
	var stages [len(serverStages)][]float64
	for _, s := range samples {
		switch {
		case s.status == http.StatusOK:
			rep.OK++
			rep.Responses++
			rep.okLatencyMs = append(rep.okLatencyMs, milliseconds(s.latency))
			for i := range serverStages {
				stages[i] = append(stages[i], s.stageMs[i])
			}
		case s.status != 0:
			rep.Responses++
			rep.Errors[strconv.Itoa(s.status)]++
		default:
			rep.Errors[s.failure]++
		}
	}
	if elapsed > 0 {
		rep.ThroughputRPS = float64(rep.Responses) / elapsed.Seconds()
		rep.GoodputRPS = float64(rep.OK) / elapsed.Seconds()
	}
	rep.Latency = percentiles(rep.okLatencyMs)
	rep.stageMs = stages
	rep.summarizeStages()
}

// summarizeStages fills in the stage medians and the infer times from
// rep.stageMs.
func (rep *LoadReport) summarizeStages() {
	infer := rep.stageMs[slices.Index(serverStages[:], "infer")]
	if len(infer) == 0 {
		return
	}
	rep.StageMedianMs = map[string]float64{}
	for i, stage := range serverStages {
		rep.StageMedianMs[stage] = percentile(rep.stageMs[i], 0.5)
	}
	rep.inferMs = infer
	rep.MedianInferMs = rep.StageMedianMs["infer"]
	rep.MinInferMs = slices.Min(infer)
}

// percentiles summarizes xs, milliseconds in any order.
func percentiles(xs []float64) Percentiles {
	if len(xs) == 0 {
		return Percentiles{}
	}
	sum := 0.0
	for _, x := range xs {
		sum += x
	}
	return Percentiles{
		P50:  percentile(xs, 0.50),
		P90:  percentile(xs, 0.90),
		P99:  percentile(xs, 0.99),
		P999: percentile(xs, 0.999),
		Max:  slices.Max(xs),
		Mean: sum / float64(len(xs)),
	}
}

// percentile returns the q-quantile of xs by the nearest-rank method: the
// smallest value with at least q of the values at or below it. It returns
// 0 for no values.
func percentile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	rank := int(math.Ceil(q * float64(len(s))))
	return s[min(max(rank, 1), len(s))-1]
}

func milliseconds(d time.Duration) float64 {
	return float64(d) / float64(time.Millisecond)
}

// WriteLoadReport prints rep for a person.
func WriteLoadReport(w io.Writer, rep *LoadReport) {
	switch rep.Mode {
	case "open":
		spacing := "evenly spaced"
		if rep.Poisson {
			spacing = "Poisson arrivals"
		}
		fmt.Fprintf(w, "open loop:   %g requests/s, %s\n", rep.Rate, spacing)
	default:
		fmt.Fprintf(w, "closed loop: %d clients, each in sequence\n", rep.Concurrency)
	}
	fmt.Fprintf(w, "requests:    %d sent, %d responses, %d OK in %.1f s\n", rep.Sent,
		rep.Responses, rep.OK, rep.ElapsedS)
	fmt.Fprintf(w, "throughput:  %.2f responses/s, %.2f OK/s\n", rep.ThroughputRPS,
		rep.GoodputRPS)

	l := rep.Latency
	fmt.Fprintf(w, "latency OK:  p50 %.0f ms, p90 %.0f ms, p99 %.0f ms, p99.9 %.0f ms, "+
		"max %.0f ms\n", l.P50, l.P90, l.P99, l.P999, l.Max)
	if m := rep.StageMedianMs; m["infer"] > 0 {
		fmt.Fprintf(w, "server:      median queue %.0f, pre %.0f, infer %.0f, post %.0f, "+
			"encode %.0f, total %.0f ms (Server-Timing)\n", m["queue"], m["pre"], m["infer"],
			m["post"], m["encode"], m["total"])
	}
	if rep.Mode == "open" {
		fmt.Fprintf(w, "send lag:    at most %.1f ms behind schedule\n", rep.MaxSendLagMs)
	}

	if len(rep.Errors) == 0 {
		fmt.Fprintln(w, "errors:      none")
		return
	}
	keys := make([]string, 0, len(rep.Errors))
	for k := range rep.Errors {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s ×%d", k, rep.Errors[k])
	}
	fmt.Fprintf(w, "errors:      %s\n", strings.Join(parts, ", "))
}
