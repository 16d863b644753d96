package bench

import (
	"math"
	"slices"
	"testing"
)

func TestTargetsJudge(t *testing.T) {
	good := func() *TargetsReport {
		return &TargetsReport{
			CapacityRPS: 1,
			ClosedRatio: 0.95,
			Closed:      &LoadReport{Concurrency: 8, GoodputRPS: 0.95},
			Nominal:     &LoadReport{Sent: 40, OK: 40, Latency: Percentiles{P50: 1000, P99: 1200}},
			Overload: &LoadReport{Sent: 90, OK: 60, Errors: map[string]int{"503": 30},
				Latency: Percentiles{P99: 2300}},
		}
	}
	cases := []struct {
		name   string
		change func(r *TargetsReport)
		missed []string
	}{
		{"all met", func(*TargetsReport) {}, nil},
		{"slow closed loop", func(r *TargetsReport) { r.ClosedRatio = 0.8 },
			[]string{"closed-loop throughput"}},
		{"long 70% tail", func(r *TargetsReport) { r.Nominal.Latency.P99 = 2100 },
			[]string{"70% tail"}},
		{"no shedding", func(r *TargetsReport) { r.Overload.Errors = map[string]int{"504": 30} },
			[]string{"150% sheds with 503"}},
		{"slow accepted", func(r *TargetsReport) { r.Overload.Latency.P99 = 2500 },
			[]string{"150% accepted latency"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := good()
			c.change(r)
			r.judge()
			if !slices.Equal(r.Missed, c.missed) {
				t.Errorf("missed %q, want %q", r.Missed, c.missed)
			}
			if len(r.Verdicts) != 4 {
				t.Errorf("%d verdicts, want 4", len(r.Verdicts))
			}
		})
	}
}

// TestTargetsClosedRatio checks that each stretch of the closed loop is
// measured against the lone requests on its two sides, not against the
// run's overall capacity.
func TestTargetsClosedRatio(t *testing.T) {
	alone := func(ms ...float64) *LoadReport { return &LoadReport{inferMs: ms} }
	rep := &TargetsReport{
		// The machine runs at half its speed by the end.
		Alone: []*LoadReport{alone(500, 500, 520), alone(500, 510, 900), alone(1000, 1000, 990)},
		Stretches: []*LoadReport{
			{Concurrency: 8, Sent: 30, Responses: 30, OK: 18, ElapsedS: 10,
				Errors: map[string]int{"503": 12}, okLatencyMs: []float64{900},
				inferMs: []float64{520}},
			{Concurrency: 8, Sent: 20, Responses: 19, OK: 9, ElapsedS: 10,
				Errors: map[string]int{"503": 10, "transport": 1}, okLatencyMs: []float64{1800},
				inferMs: []float64{1050}},
		},
	}
	if err := rep.summarizeClosed(); err != nil {
		t.Fatal(err)
	}
	// 10 s at 500 ms and 10 s at 900 ms (the lower median of 500, 510,
	// 900, 1000, 1000, 990) an image alone: 20 + 11.1 images.
	if want := 27 / (20 + 10000.0/900); math.Abs(rep.ClosedRatio-want) > 1e-9 {
		t.Errorf("closed ratio %v, want %v", rep.ClosedRatio, want)
	}
	if want := []float64{0.9, 9 / (10000.0 / 900)}; len(rep.StretchRatios) != 2 ||
		math.Abs(rep.StretchRatios[0]-want[0]) > 1e-9 ||
		math.Abs(rep.StretchRatios[1]-want[1]) > 1e-9 {
		t.Errorf("stretch ratios %v, want %v", rep.StretchRatios, want)
	}
	c := rep.Closed
	if c.OK != 27 || c.Sent != 50 || c.ElapsedS != 20 || c.GoodputRPS != 1.35 ||
		c.Errors["503"] != 22 || c.Errors["transport"] != 1 {
		t.Errorf("closed totals %+v", c)
	}
	if rep.EngineMs != 520 || rep.EngineMinMs != 500 {
		t.Errorf("engine %v ms at median, %v at best; want 520 and 500", rep.EngineMs,
			rep.EngineMinMs)
	}
	if want := (520 + 1050) / 1000.0 / 20; math.Abs(rep.ClosedBusy-want) > 1e-9 {
		t.Errorf("engine busy %v, want %v", rep.ClosedBusy, want)
	}
}
