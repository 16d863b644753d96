package bench

import (
	"slices"
	"testing"
)

func TestTargetsJudge(t *testing.T) {
	good := func() *TargetsReport {
		return &TargetsReport{
			CapacityRPS: 1,
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
		{"slow closed loop", func(r *TargetsReport) { r.Closed.GoodputRPS = 0.8 },
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
