package daemon

import (
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"

	"github.com/rmbgd/rmbgd/engine"
)

// QueueStats is implemented by a Remover that queues jobs, as the engine's
// batching pipeline does; /metrics reports both numbers when the Remover
// has them. Both methods must be safe for concurrent use and cheap, since
// every scrape calls them.
type QueueStats interface {
	// QueueDepth returns the number of jobs waiting for inference.
	QueueDepth() int

	// InFlight returns the number of jobs the engine holds: queued, in a
	// batch, or postprocessing and encoding.
	InFlight() int
}

// latencyBuckets spans a GPU batch's few milliseconds to a CPU request
// near its 30 s default deadline, in seconds.
var latencyBuckets = []float64{
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
}

// Stage label values of rmbgd_remove_duration_seconds.
var stageNames = [...]string{"queue", "pre", "infer", "post", "encode", "total"}

// metrics holds the server's Prometheus collectors on a registry of its
// own, so that two servers in one process (tests, benchmarks) do not
// collide and nothing registered globally by a library leaks into
// /metrics. Every label value comes from a fixed set: routes, status
// codes, stage names, the backend and model name.
type metrics struct {
	registry *prometheus.Registry
	handler  fasthttp.RequestHandler

	requests *prometheus.CounterVec   // route, code
	duration *prometheus.HistogramVec // route
	stages   [len(stageNames)]prometheus.Observer
	batch    prometheus.Histogram
}

func newMetrics(s *Server, log *slog.Logger) *metrics {
	reg := prometheus.NewRegistry()
	m := &metrics{
		registry: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rmbgd_http_requests_total",
			Help: "HTTP requests answered, by route and status code.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "rmbgd_http_request_duration_seconds",
			Help:    "Time from a request's header to the end of its handler, by route.",
			Buckets: latencyBuckets,
		}, []string{"route"}),
		batch: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "rmbgd_batch_size",
			Help:    "Size of the inference batch each removal ran in.",
			Buckets: []float64{1, 2, 3, 4, 6, 8, 12, 16, 24, 32},
		}),
	}
	stages := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "rmbgd_remove_duration_seconds",
		Help: "Time of each stage of a served removal: queue (waiting for the " +
			"backend), pre, infer, post, encode, and the engine's total.",
		Buckets: latencyBuckets,
	}, []string{"stage"})
	for i, name := range stageNames {
		m.stages[i] = stages.WithLabelValues(name)
	}

	backend := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "rmbgd_backend_info",
		Help:        "The inference backend and model serving removals; always 1.",
		ConstLabels: prometheus.Labels{"backend": s.remover.Backend(), "model": s.remover.Model()},
	})
	backend.Set(1)
	reg.MustRegister(m.requests, m.duration, stages, m.batch, backend,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "rmbgd_http_inflight_removals",
			Help: "Removal requests being served (at most --concurrency).",
		}, func() float64 { return float64(len(s.slots)) }),
	)
	if q, ok := s.remover.(QueueStats); ok {
		reg.MustRegister(
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "rmbgd_queue_depth",
				Help: "Jobs waiting for inference, not yet taken into a batch.",
			}, func() float64 { return float64(q.QueueDepth()) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "rmbgd_inflight_jobs",
				Help: "Jobs the engine holds: queued, in a batch, or postprocessing and encoding.",
			}, func() float64 { return float64(q.InFlight()) }),
		)
	}
	if s.limiter != nil {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "rmbgd_ratelimit_clients",
			Help: "Client buckets in the rate limiter's table.",
		}, func() float64 { return float64(s.limiter.clients()) }))
	}

	m.handler = fasthttpadaptor.NewFastHTTPHandler(promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:      promLogger{log},
		ErrorHandling: promhttp.ContinueOnError,
		Registry:      reg,
	}))
	return m
}

// statusLabels holds the code label of every status, so that counting a
// request does not format a number.
var statusLabels = func() (labels [600]string) {
	for i := range labels {
		labels[i] = strconv.Itoa(i)
	}
	return labels
}()

// observeRequest counts a request and its response status.
func (m *metrics) observeRequest(route string, status int, d time.Duration) {
	code := "other"
	if status >= 0 && status < len(statusLabels) {
		code = statusLabels[status]
	}
	m.requests.WithLabelValues(route, code).Inc()
	m.duration.WithLabelValues(route).Observe(d.Seconds())
}

// observeResult records the stage times and batch size of a served removal.
func (m *metrics) observeResult(t engine.Timing, batch int) {
	for i, d := range [...]time.Duration{t.Queue, t.Pre, t.Infer, t.Post, t.Encode, t.Total} {
		m.stages[i].Observe(d.Seconds())
	}
	if batch > 0 {
		m.batch.Observe(float64(batch))
	}
}

// promLogger passes promhttp's errors (a collector that failed during a
// scrape) to slog.
type promLogger struct{ log *slog.Logger }

func (l promLogger) Println(v ...any) {
	l.log.Warn("metrics scrape error", "error", fmtArgs(v))
}

func fmtArgs(v []any) string {
	if len(v) == 1 {
		if err, ok := v[0].(error); ok {
			return err.Error()
		}
	}
	return strings.TrimSuffix(fmt.Sprintln(v...), "\n")
}
