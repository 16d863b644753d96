package bench

import (
	"encoding/json"
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
	rep := &TargetsReport{
		// The machine runs at half its speed by the end.
		Alone: []*LoadReport{loneRun(500, 500, 520), loneRun(500, 510, 900), loneRun(1000, 1000, 990)},
		Stretches: []*LoadReport{
			stretchRun(10, 18, 520),
			stretchRun(10, 9, 1050),
		},
	}
	rep.Stretches[0].Sent, rep.Stretches[0].Errors = 30, map[string]int{"503": 12}
	rep.Stretches[1].Sent, rep.Stretches[1].Errors = 20, map[string]int{"503": 10, "transport": 1}
	if err := rep.summarizeClosed(); err != nil {
		t.Fatal(err)
	}

	// The medians of the sides are 500, 510 and 1000 ms.
	wantEngine := []float64{505, 755}
	if !slices.Equal(rep.StretchEngineMs, wantEngine) {
		t.Errorf("stretch engine times %v, want %v", rep.StretchEngineMs, wantEngine)
	}
	first, second := 10000/505.0, 10000/755.0
	wantRatios := []float64{18 / first, 9 / second}
	if len(rep.StretchRatios) != 2 || math.Abs(rep.StretchRatios[0]-wantRatios[0]) > 1e-9 ||
		math.Abs(rep.StretchRatios[1]-wantRatios[1]) > 1e-9 {
		t.Errorf("stretch ratios %v, want %v", rep.StretchRatios, wantRatios)
	}
	if want := 27 / (first + second); math.Abs(rep.ClosedRatio-want) > 1e-9 {
		t.Errorf("closed ratio %v, want %v", rep.ClosedRatio, want)
	}

	c := rep.Closed
	if c.OK != 27 || c.Sent != 50 || c.ElapsedS != 20 || c.GoodputRPS != 1.35 {
		t.Errorf("closed totals: %d OK of %d in %v s, %v OK/s; want 27 of 50 in 20 s, 1.35 OK/s",
			c.OK, c.Sent, c.ElapsedS, c.GoodputRPS)
	}
	if c.Errors["503"] != 22 || c.Errors["transport"] != 1 {
		t.Errorf("closed errors %v, want 22 × 503 and 1 transport", c.Errors)
	}
	if c.StageMedianMs["infer"] != 520 || c.MedianInferMs != 520 || c.Latency.Max != 1450 {
		t.Errorf("closed stages %v, latency %+v: want the stretches' samples merged",
			c.StageMedianMs, c.Latency)
	}
	if rep.EngineMs != 520 || rep.EngineMinMs != 500 {
		t.Errorf("engine %v ms at median, %v at best; want 520 and 500", rep.EngineMs,
			rep.EngineMinMs)
	}
	if want := (520 + 1050) / 1000.0 / 20; math.Abs(rep.ClosedBusy-want) > 1e-9 {
		t.Errorf("engine busy %v, want %v", rep.ClosedBusy, want)
	}
}

// TestTargetsClosedRatioShift checks a stretch between two lone runs that
// do not overlap: it is compared with the middle of the two, not with the
// slowest request of the faster one.
func TestTargetsClosedRatioShift(t *testing.T) {
	rep := &TargetsReport{
		Alone:     []*LoadReport{loneRun(1000, 1000, 1000, 1000, 1000), loneRun(2000, 2000, 2000, 2000, 2000)},
		Stretches: []*LoadReport{stretchRun(10, 5, 2000)},
	}
	if err := rep.summarizeClosed(); err != nil {
		t.Fatal(err)
	}
	if len(rep.StretchRatios) != 1 || math.Abs(rep.StretchRatios[0]-0.75) > 1e-9 {
		t.Errorf("stretch ratios %v, want [0.75]", rep.StretchRatios)
	}
}

func TestTargetsClosedRatioInvalid(t *testing.T) {
	missing := &TargetsReport{Alone: []*LoadReport{loneRun(500)},
		Stretches: []*LoadReport{stretchRun(10, 5, 500)}}
	if err := missing.summarizeClosed(); err == nil {
		t.Error("no error for a stretch without lone requests after it")
	}
	noInfer := &TargetsReport{Alone: []*LoadReport{loneRun(500), loneRun()},
		Stretches: []*LoadReport{stretchRun(10, 5, 500)}}
	if err := noInfer.summarizeClosed(); err == nil {
		t.Error("no error for lone requests without inference times")
	}

	// A stretch that got no time at all counts as nothing, and the report
	// still encodes as JSON.
	empty := &TargetsReport{Alone: []*LoadReport{loneRun(500), loneRun(500)},
		Stretches: []*LoadReport{{Concurrency: 8}}}
	if err := empty.summarizeClosed(); err != nil {
		t.Fatal(err)
	}
	if empty.StretchRatios[0] != 0 || empty.ClosedRatio != 0 {
		t.Errorf("ratios %v and %v, want 0", empty.StretchRatios, empty.ClosedRatio)
	}
	if _, err := json.Marshal(empty); err != nil {
		t.Errorf("report does not encode: %v", err)
	}
}

// loneRun returns the report of lone requests with these inference times.
func loneRun(inferMs ...float64) *LoadReport { return &LoadReport{inferMs: inferMs} }

// stretchRun returns the report of a closed-loop stretch of elapsedS seconds
// with ok 200 responses. Its infer stage times are inferMs, and so are its
// latencies, plus 400 ms.
func stretchRun(elapsedS float64, ok int, inferMs ...float64) *LoadReport {
	r := &LoadReport{Concurrency: 8, Sent: ok, Responses: ok, OK: ok, ElapsedS: elapsedS,
		Errors: map[string]int{}}
	infer := slices.Index(serverStages[:], "infer")
	for _, ms := range inferMs {
		r.stageMs[infer] = append(r.stageMs[infer], ms)
		r.okLatencyMs = append(r.okLatencyMs, ms+400)
	}
	return r
}
