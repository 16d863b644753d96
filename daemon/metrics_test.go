package daemon

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/rmbgd/rmbgd/engine"
)

// queuedRemover is a pngRemover that reports queue statistics.
type queuedRemover struct{ pngRemover }

func (r *queuedRemover) QueueDepth() int { return 3 }
func (r *queuedRemover) InFlight() int   { return 5 }

func (r *queuedRemover) Remove(ctx context.Context, job engine.Job) (*engine.Result, error) {
	return r.pngRemover.Remove(ctx, job)
}

// scrape fetches /metrics and parses it.
func scrape(t *testing.T, ts *testServer) map[string]*dto.MetricFamily {
	t.Helper()
	resp, body := send(t, "GET", ts.url+"/metrics", "", nil, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: status %d", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("/metrics Content-Type %q, want text/plain", ct)
	}
	if bytes.Contains(body, []byte("SECRET")) {
		t.Errorf("/metrics quotes request content:\n%s", body)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("/metrics is not Prometheus text: %v\n%s", err, body)
	}
	return families
}

// metricWith returns the metric of family name whose labels include
// labels, or nil.
func metricWith(families map[string]*dto.MetricFamily, name string,
	labels map[string]string) *dto.Metric {
	f := families[name]
	if f == nil {
		return nil
	}
	for _, m := range f.Metric {
		matched := 0
		for _, lp := range m.Label {
			if v, ok := labels[lp.GetName()]; ok && v == lp.GetValue() {
				matched++
			}
		}
		if matched == len(labels) {
			return m
		}
	}
	return nil
}

func TestMetrics(t *testing.T) {
	ts := startServer(t, Config{}, &queuedRemover{})
	img := testPNG(t, 16, 16)
	for range 2 {
		send(t, "POST", ts.url+"/v1/remove", "image/png", img, nil)
	}
	send(t, "POST", ts.url+"/v1/remove", "image/png", []byte("BM not a png"), nil)
	send(t, "GET", ts.url+"/SECRET-PATH", "", nil, nil)

	families := scrape(t, ts)
	counters := []struct {
		route, code string
		want        float64
	}{
		{"/v1/remove", "200", 2},
		{"/v1/remove", "415", 1},
		{"-", "404", 1},
	}
	for _, c := range counters {
		m := metricWith(families, "rmbgd_http_requests_total",
			map[string]string{"route": c.route, "code": c.code})
		if m == nil {
			t.Errorf("no rmbgd_http_requests_total{route=%q,code=%q}", c.route, c.code)
			continue
		}
		if got := m.GetCounter().GetValue(); got != c.want {
			t.Errorf("rmbgd_http_requests_total{route=%q,code=%q} = %v, want %v",
				c.route, c.code, got, c.want)
		}
	}

	for _, stage := range stageNames {
		m := metricWith(families, "rmbgd_remove_duration_seconds",
			map[string]string{"stage": stage})
		if m == nil || m.GetHistogram().GetSampleCount() != 2 {
			t.Errorf("rmbgd_remove_duration_seconds{stage=%q}: %v, want 2 samples", stage, m)
		}
	}
	// The test remover reports a fixed infer time of 2 ms.
	infer := metricWith(families, "rmbgd_remove_duration_seconds",
		map[string]string{"stage": "infer"})
	if got := infer.GetHistogram().GetSampleSum(); got < 0.0039 || got > 0.0041 {
		t.Errorf("infer sum %v s, want 0.004", got)
	}
	if m := metricWith(families, "rmbgd_batch_size", nil); m == nil ||
		m.GetHistogram().GetSampleCount() != 2 || m.GetHistogram().GetSampleSum() != 2 {
		t.Errorf("rmbgd_batch_size: %v, want 2 batches of 1", m)
	}
	gauges := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"rmbgd_backend_info", map[string]string{"backend": "cpu", "model": "test-threshold"}, 1},
		{"rmbgd_queue_depth", nil, 3},
		{"rmbgd_inflight_jobs", nil, 5},
		{"rmbgd_http_inflight_removals", nil, 0},
	}
	for _, g := range gauges {
		m := metricWith(families, g.name, g.labels)
		if m == nil {
			t.Errorf("no %s%v", g.name, g.labels)
			continue
		}
		if got := m.GetGauge().GetValue(); got != g.want {
			t.Errorf("%s = %v, want %v", g.name, got, g.want)
		}
	}
	if families["go_goroutines"] == nil || families["process_resident_memory_bytes"] == nil {
		t.Error("/metrics lacks the Go and process collectors")
	}
	if families["rmbgd_ratelimit_clients"] != nil {
		t.Error("rmbgd_ratelimit_clients is exported without a rate limit")
	}
}

func TestMetricsWithoutQueueStats(t *testing.T) {
	ts := startServer(t, Config{Rate: 100}, &pngRemover{})
	send(t, "POST", ts.url+"/v1/remove", "image/png", testPNG(t, 8, 8), nil)
	families := scrape(t, ts)
	if families["rmbgd_queue_depth"] != nil {
		t.Error("rmbgd_queue_depth is exported for a remover without a queue")
	}
	if m := metricWith(families, "rmbgd_ratelimit_clients", nil); m == nil ||
		m.GetGauge().GetValue() != 1 {
		t.Errorf("rmbgd_ratelimit_clients: %v, want 1", m)
	}
}
