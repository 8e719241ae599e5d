package scaler

import (
	"math"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// step is one tick of the fake clock: at is the time since t0, o what was
// observed (Current and Ready are filled in by run), want the replicas
// expected. A non-nil spec is passed to SetSpec before the tick.
type step struct {
	at   time.Duration
	o    Observation
	want int
	spec *Spec
}

// run feeds steps to a new Decider for spec, starting at start replicas and
// applying each decision before the next tick, as the scaling loop does.
func run(t *testing.T, spec Spec, start int, steps []step) {
	t.Helper()
	d := NewDecider(spec)
	current := start
	for _, s := range steps {
		if s.spec != nil {
			d.SetSpec(*s.spec)
		}
		o := s.o
		o.Current, o.Ready = current, current
		got := d.Decide(t0.Add(s.at), o)
		if got.Desired != s.want {
			t.Errorf("at %s, %+v: desired %d (%s), want %d", s.at, s.o, got.Desired, got.Reason, s.want)
		}
		current = got.Desired
	}
}

// Observation builders.
func backlog(n int64) Observation               { return Observation{Backlog: n} }
func waiting(n int) Observation                 { return Observation{Waiting: n} }
func inFlight(n int) Observation                { return Observation{InFlight: n} }
func upstream(n int64) Observation              { return Observation{UpstreamBacklog: n} }
func nothing() Observation                      { return Observation{} }
func rate(o Observation, r float64) Observation { o.Rate = r; return o }

// every repeats o once a second over [from, to), expecting want each time.
func every(from, to time.Duration, o Observation, want int) []step {
	var steps []step
	for at := from; at < to; at += time.Second {
		steps = append(steps, step{at: at, o: o, want: want})
	}
	return steps
}

// seq joins steps and runs of steps.
func seq(parts ...any) []step {
	var steps []step
	for _, p := range parts {
		switch p := p.(type) {
		case step:
			steps = append(steps, p)
		case []step:
			steps = append(steps, p...)
		default:
			panic("seq: not a step")
		}
	}
	return steps
}

// testSpec is a spec with round numbers, changed by mods.
func testSpec(mods ...func(*Spec)) Spec {
	s := Spec{
		Min:             0,
		Max:             10,
		TargetBacklog:   10,
		ScaleDownWindow: 10 * time.Second,
		IdleTimeout:     30 * time.Second,
	}
	for _, m := range mods {
		m(&s)
	}
	return s
}

const sec = time.Second

func TestDecideWake(t *testing.T) {
	tests := []struct {
		name  string
		spec  Spec
		start int
		steps []step
	}{{
		name:  "backlog wakes from zero",
		spec:  testSpec(),
		steps: []step{{0, backlog(1), 1, nil}},
	}, {
		name:  "backlog wakes straight to what it needs",
		spec:  testSpec(),
		steps: []step{{0, backlog(35), 4, nil}},
	}, {
		name:  "waiting sync request wakes from zero",
		spec:  testSpec(),
		steps: []step{{0, waiting(1), 1, nil}},
	}, {
		name:  "in-flight request wakes from zero",
		spec:  testSpec(),
		steps: []step{{0, inFlight(1), 1, nil}},
	}, {
		name:  "nothing pending stays at zero",
		spec:  testSpec(),
		steps: seq(every(0, 2*time.Minute, nothing(), 0)),
	}, {
		name: "wake-ahead from upstream backlog, then scale on own backlog",
		spec: testSpec(),
		steps: []step{
			{0, upstream(500), 1, nil},
			{1 * sec, Observation{Backlog: 50, UpstreamBacklog: 450}, 5, nil},
		},
	}, {
		name: "upstream backlog keeps the woken replica until idle",
		spec: testSpec(func(s *Spec) { s.IdleTimeout = 5 * sec }),
		steps: seq(
			every(0, 20*sec, upstream(7), 1),
			every(20*sec, 24*sec, nothing(), 1), // last upstream backlog at 19s
			every(24*sec, 30*sec, nothing(), 0),
		),
	}, {
		name: "wake after idle-to-zero needs only the load, not the window peak",
		spec: testSpec(func(s *Spec) { s.ScaleDownWindow, s.IdleTimeout = time.Minute, 5*sec }),
		steps: seq(
			step{0, backlog(100), 10, nil},
			every(1*sec, 5*sec, nothing(), 10), // window holds
			step{5 * sec, nothing(), 0, nil},   // idle timeout is the stricter rule
			step{6 * sec, backlog(1), 1, nil},
		),
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { run(t, tt.spec, tt.start, tt.steps) })
	}
}

func TestDecideScaleUpAndBounds(t *testing.T) {
	tests := []struct {
		name  string
		spec  Spec
		start int
		steps []step
	}{{
		name:  "scale up in one step, no growth cap below max",
		spec:  testSpec(func(s *Spec) { s.Max = 100 }),
		start: 1,
		steps: []step{{0, backlog(400), 40, nil}, {1 * sec, backlog(990), 99, nil}},
	}, {
		name:  "max caps the load",
		spec:  testSpec(),
		steps: []step{{0, backlog(10_000), 10, nil}},
	}, {
		name:  "max caps a backlog that would overflow",
		spec:  testSpec(),
		steps: []step{{0, Observation{Backlog: math.MaxInt64, Waiting: math.MaxInt}, 10, nil}},
	}, {
		name: "min floor above zero",
		spec: testSpec(func(s *Spec) { s.Min = 2 }),
		steps: seq(
			step{0, nothing(), 2, nil},
			step{1 * sec, backlog(5), 2, nil},
			step{2 * sec, backlog(50), 5, nil},
			every(3*sec, 5*time.Minute, nothing(), 2)[10:], // after the window
		),
	}, {
		name: "min == max never moves",
		spec: testSpec(func(s *Spec) { s.Min, s.Max = 3, 3 }),
		steps: seq(
			step{0, nothing(), 3, nil},
			step{1 * sec, backlog(1000), 3, nil},
			step{2 * sec, upstream(1000), 3, nil},
			every(3*sec, 5*time.Minute, nothing(), 3),
		),
	}, {
		name: "sync-only load counts in-flight and waiting requests",
		spec: testSpec(),
		steps: []step{
			{0, Observation{InFlight: 25, Waiting: 5}, 3, nil},
		},
	}, {
		name: "synchronous requests in flight add to the buffered backlog",
		spec: testSpec(),
		steps: []step{
			{0, Observation{Backlog: 30, InFlight: 8}, 4, nil},
		},
	}, {
		name: "container concurrency gives every in-flight and waiting request a slot",
		spec: testSpec(func(s *Spec) { s.TargetBacklog, s.ContainerConcurrency = 100, 4 }),
		steps: []step{
			{0, Observation{InFlight: 8, Waiting: 8}, 4, nil},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { run(t, tt.spec, tt.start, tt.steps) })
	}
}

func TestDecideStabilisation(t *testing.T) {
	idleLong := func(s *Spec) { s.IdleTimeout = time.Hour }
	tests := []struct {
		name  string
		spec  Spec
		start int
		steps []step
	}{{
		name: "window holds then releases",
		spec: testSpec(idleLong),
		steps: seq(
			step{0, backlog(100), 10, nil},
			every(1*sec, 10*sec, backlog(20), 10),
			step{10 * sec, backlog(20), 2, nil}, // the peak at 0s is a full window old
		),
	}, {
		name: "releases step by step to each lower peak",
		spec: testSpec(idleLong),
		steps: seq(
			step{0, backlog(100), 10, nil},
			every(1*sec, 5*sec, backlog(10), 10),
			step{5 * sec, backlog(60), 10, nil},
			every(6*sec, 10*sec, backlog(10), 10),
			every(10*sec, 15*sec, backlog(10), 6),
			every(15*sec, 20*sec, backlog(10), 1),
		),
	}, {
		name: "zero window scales down at once",
		spec: testSpec(idleLong, func(s *Spec) { s.ScaleDownWindow = 0 }),
		steps: []step{
			{0, backlog(100), 10, nil},
			{1 * sec, backlog(20), 2, nil},
		},
	}, {
		name:  "a new decider holds the running count for a window",
		spec:  testSpec(idleLong),
		start: 6,
		steps: seq(
			every(0, 10*sec, backlog(10), 6),
			step{10 * sec, backlog(10), 1, nil},
		),
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { run(t, tt.spec, tt.start, tt.steps) })
	}
}

func TestDecideIdle(t *testing.T) {
	tests := []struct {
		name  string
		spec  Spec
		start int
		steps []step
	}{{
		name: "to zero exactly after the idle timeout, not before",
		spec: testSpec(),
		steps: seq(
			step{0, backlog(50), 5, nil},
			every(1*sec, 10*sec, nothing(), 5),  // window
			every(10*sec, 30*sec, nothing(), 1), // idle, one replica kept
			every(30*sec, 40*sec, nothing(), 0),
		),
	}, {
		name: "new activity during idle restarts the clock",
		spec: testSpec(),
		steps: seq(
			step{0, backlog(5), 1, nil},
			every(1*sec, 20*sec, nothing(), 1),
			step{20 * sec, inFlight(1), 1, nil},
			every(21*sec, 50*sec, nothing(), 1),
			step{50 * sec, nothing(), 0, nil},
		),
	}, {
		name: "a waiting sync request is activity",
		spec: testSpec(),
		steps: seq(
			step{0, backlog(5), 1, nil},
			step{29 * sec, waiting(1), 1, nil},
			step{58 * sec, nothing(), 1, nil},
			step{59 * sec, nothing(), 0, nil},
		),
	}, {
		name:  "a new decider waits a full idle timeout",
		spec:  testSpec(),
		start: 1,
		steps: seq(
			every(0, 30*sec, nothing(), 1),
			step{30 * sec, nothing(), 0, nil},
		),
	}, {
		name: "zero idle timeout goes to zero as soon as the work is gone",
		spec: testSpec(func(s *Spec) { s.IdleTimeout = 0 }),
		steps: []step{
			{0, backlog(50), 5, nil},
			{1 * sec, nothing(), 0, nil},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { run(t, tt.spec, tt.start, tt.steps) })
	}
}

func TestDecideTargetSeconds(t *testing.T) {
	within10s := func(s *Spec) { s.TargetSeconds, s.Max = 10*sec, 1000 }
	tests := []struct {
		name string
		spec Spec
		o    Observation
		want int
	}{
		{"known rate: 2/s × 10s = 20 per replica", testSpec(within10s), rate(backlog(100), 2), 5},
		{"slow known rate: 0.1/s × 10s = 1 per replica", testSpec(within10s), rate(backlog(100), 0.1), 100},
		{"unknown rate falls back to target backlog", testSpec(within10s), backlog(100), 10},
		{"infinite rate counts as unknown", testSpec(within10s), rate(backlog(100), math.Inf(1)), 10},
		{"NaN rate counts as unknown", testSpec(within10s), rate(backlog(100), math.NaN()), 10},
		{"off: the rate is ignored", testSpec(), rate(backlog(100), 2), 10},
		{"tiny rate is capped by max", testSpec(within10s), rate(backlog(100), 1e-300), 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run(t, tt.spec, 0, []step{{0, tt.o, tt.want, nil}})
		})
	}
}

func TestDecideNoisyBacklogDoesNotFlap(t *testing.T) {
	tests := []struct {
		name   string
		window time.Duration
		low    int64
		high   int64
		period time.Duration // time at each level
	}{
		{"0/50 every second", 10 * sec, 0, 50, sec},
		{"30/50 every second", 10 * sec, 30, 50, sec},
		{"0/50 every 4s", 10 * sec, 0, 50, 4 * sec},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewDecider(testSpec(func(s *Spec) { s.ScaleDownWindow = tt.window }))
			current, wentDown := 0, false
			for at := time.Duration(0); at < 10*time.Minute; at += sec {
				o := backlog(tt.high)
				if (at/tt.period)%2 == 1 {
					o = backlog(tt.low)
				}
				o.Current = current
				got := d.Decide(t0.Add(at), o)
				switch {
				case got.Desired < current:
					wentDown = true
				case got.Desired > current && wentDown:
					t.Fatalf("at %s: up to %d (%s) after going down", at, got.Desired, got.Reason)
				}
				if at > 0 && got.Desired != 5 {
					t.Fatalf("at %s: desired %d (%s), want 5 held", at, got.Desired, got.Reason)
				}
				current = got.Desired
			}
		})
	}
}

func TestDecideSetSpec(t *testing.T) {
	spec := func(mods ...func(*Spec)) *Spec { s := testSpec(mods...); return &s }
	tests := []struct {
		name  string
		spec  Spec
		start int
		steps []step
	}{{
		name: "a new target keeps the window",
		spec: testSpec(),
		steps: seq(
			step{0, backlog(100), 10, nil},
			step{1 * sec, backlog(20), 10, spec(func(s *Spec) { s.TargetBacklog = 20 })},
			every(2*sec, 10*sec, backlog(20), 10),
			step{10 * sec, backlog(20), 1, nil},
		),
	}, {
		name: "a lower max applies at once",
		spec: testSpec(),
		steps: []step{
			{0, backlog(100), 10, nil},
			{1 * sec, backlog(100), 4, spec(func(s *Spec) { s.Max = 4 })},
		},
	}, {
		name: "a higher max applies at once",
		spec: testSpec(),
		steps: []step{
			{0, backlog(500), 10, nil},
			{1 * sec, backlog(500), 50, spec(func(s *Spec) { s.Max = 100 })},
		},
	}, {
		name: "a shorter idle timeout counts from the last activity",
		spec: testSpec(func(s *Spec) { s.ScaleDownWindow = 0 }),
		steps: []step{
			{0, backlog(5), 1, nil},
			{5 * sec, nothing(), 1, spec(func(s *Spec) { s.ScaleDownWindow, s.IdleTimeout = 0, 10*sec })},
			{9 * sec, nothing(), 1, nil},
			{10 * sec, nothing(), 0, nil},
		},
	}, {
		name: "min == max turns autoscaling off, and back on",
		spec: testSpec(),
		steps: []step{
			{0, backlog(50), 5, nil},
			{1 * sec, backlog(50), 2, spec(func(s *Spec) { s.Min, s.Max = 2, 2 })},
			{2 * sec, backlog(50), 5, spec()},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { run(t, tt.spec, tt.start, tt.steps) })
	}
}

func TestDecideReason(t *testing.T) {
	tests := []struct {
		name    string
		spec    Spec
		start   int
		o       Observation
		wantPre string
	}{
		{"wake", testSpec(), 0, backlog(3), "wake: load 3 / target 10"},
		{"wake ahead", testSpec(), 0, upstream(3), "wake ahead: upstream backlog 3"},
		{"scale up", testSpec(), 1, backlog(120), "scale up: load 120 / target 10 (max 10)"},
		{"rate", testSpec(func(s *Spec) { s.TargetSeconds = 5 * sec }), 1, rate(backlog(100), 2), "scale up: load 100 / 10 per replica (2/s × 5s)"},
		{"concurrency", testSpec(func(s *Spec) { s.ContainerConcurrency = 1 }), 1, waiting(3), "scale up: in flight + waiting 3 / concurrency 1"},
		{"stabilising", testSpec(), 5, backlog(10), "stabilising: window peak 5, load 10 / target 10"},
		{"idle", testSpec(), 0, nothing(), "idle: no load"},
		{"fixed", testSpec(func(s *Spec) { s.Min, s.Max = 2, 2 }), 2, backlog(100), "fixed: min == max == 2"},
		{"min", testSpec(func(s *Spec) { s.Min = 2 }), 0, nothing(), "scale up: no load (min 2)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.o
			o.Current = tt.start
			got := NewDecider(tt.spec).Decide(t0, o)
			if !strings.HasPrefix(got.Reason, tt.wantPre) {
				t.Errorf("reason %q, want prefix %q", got.Reason, tt.wantPre)
			}
		})
	}
}

func TestDecideIdleToZeroReason(t *testing.T) {
	d := NewDecider(testSpec())
	d.Decide(t0, Observation{Backlog: 1})
	got := d.Decide(t0.Add(time.Minute), Observation{Current: 1})
	if want := (Decision{Desired: 0, Reason: "idle to zero: no work for 1m0s (idle timeout 30s)"}); got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
}
