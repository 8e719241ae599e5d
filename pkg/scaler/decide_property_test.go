package scaler

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// checkRandomSequence runs a random spec and observation sequence drawn from
// seed and checks the rules that hold whatever the input:
//   - Desired is within [Min, Max], and Min when Min == Max;
//   - Desired is never 0 while anything is pending or upstream has backlog;
//   - scale-up is immediate: Desired is at least what the load calls for,
//     up to Max;
//   - Reason is never empty.
func checkRandomSequence(t *testing.T, seed uint64, steps int) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	spec := Spec{
		Min:                  r.IntN(4),
		TargetBacklog:        1 + r.IntN(50),
		ContainerConcurrency: r.IntN(3) * r.IntN(16),
		ScaleDownWindow:      time.Duration(r.IntN(61)) * time.Second,
		IdleTimeout:          time.Duration(r.IntN(121)) * time.Second,
	}
	spec.Max = spec.Min + r.IntN(20)
	if spec.Max == 0 {
		spec.Max = 1
	}
	if r.IntN(2) == 0 {
		spec.TargetSeconds = time.Duration(1+r.IntN(30)) * time.Second
	}
	d := NewDecider(spec)
	now, current := t0, r.IntN(spec.Max+1)
	for i := range steps {
		now = now.Add(time.Duration(r.IntN(5000)) * time.Millisecond)
		o := Observation{
			Backlog:         sometimes(r, r.Int64N(10_000)),
			InFlight:        int(sometimes(r, r.Int64N(100))),
			Waiting:         int(sometimes(r, r.Int64N(100))),
			Rate:            float64(sometimes(r, r.Int64N(1000))) / 10,
			UpstreamBacklog: sometimes(r, r.Int64N(10_000)),
			Current:         current,
		}
		if r.IntN(50) == 0 {
			o.Backlog = math.MaxInt64 // overflow guard
		}
		if r.IntN(10) == 0 {
			o.Current = r.IntN(2 * (spec.Max + 1)) // the runtime lagged or was edited
		}
		o.Ready = r.IntN(o.Current + 1)
		got := d.Decide(now, o)

		pending := o.Backlog > 0 || o.InFlight > 0 || o.Waiting > 0
		need := min(recommend(spec, o).replicas, spec.Max)
		switch {
		case got.Desired < spec.Min || got.Desired > spec.Max:
			t.Fatalf("seed %d step %d: desired %d outside [%d, %d]", seed, i, got.Desired, spec.Min, spec.Max)
		case spec.Min == spec.Max && got.Desired != spec.Min:
			t.Fatalf("seed %d step %d: desired %d, want fixed %d", seed, i, got.Desired, spec.Min)
		case got.Desired == 0 && (pending || o.UpstreamBacklog > 0):
			t.Fatalf("seed %d step %d: desired 0 with %+v", seed, i, o)
		case got.Desired < need:
			t.Fatalf("seed %d step %d: desired %d below the %d the load needs (%s)", seed, i, got.Desired, need, got.Reason)
		case got.Reason == "":
			t.Fatalf("seed %d step %d: empty reason", seed, i)
		}
		current = got.Desired
	}
}

// sometimes returns n half the time and 0 otherwise, so that idle stretches
// and wakes from zero are frequent.
func sometimes(r *rand.Rand, n int64) int64 {
	if r.IntN(2) == 0 {
		return 0
	}
	return n
}

func TestDecideProperties(t *testing.T) {
	for seed := range uint64(500) {
		checkRandomSequence(t, seed, 300)
	}
}

func FuzzDecide(f *testing.F) {
	for _, seed := range []uint64{0, 1, 42, 1 << 40, math.MaxUint64} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, seed uint64) { checkRandomSequence(t, seed, 300) })
}

func TestDecideHistoryStaysBounded(t *testing.T) {
	// A falling load is the worst case for the window: every sample may
	// still become the peak, so all within the window are kept.
	const tick, window = 100 * time.Millisecond, 10 * time.Second
	d := NewDecider(Spec{Max: 1 << 20, TargetBacklog: 1, ScaleDownWindow: window, IdleTimeout: time.Minute})
	limit := int(window/tick) + 1
	for i := range 36_000 { // an hour
		d.Decide(t0.Add(time.Duration(i)*tick), Observation{Backlog: int64(1<<20 - i), Current: 1})
		if n := d.peaks.len(); n > limit {
			t.Fatalf("tick %d: %d samples held, want at most %d", i, n, limit)
		}
	}
}

func BenchmarkDecide(b *testing.B) {
	d := NewDecider(Spec{Max: 100, TargetBacklog: 10, ScaleDownWindow: time.Minute, IdleTimeout: time.Minute})
	r := rand.New(rand.NewPCG(1, 2))
	now, current := t0, 0
	for b.Loop() {
		now = now.Add(time.Second)
		current = d.Decide(now, Observation{Backlog: r.Int64N(1000), Current: current}).Desired
	}
}

func TestDecideConcurrentSetSpec(t *testing.T) {
	d := NewDecider(testSpec())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 1000 {
			d.SetSpec(testSpec(func(s *Spec) { s.Max = 1 + i%20 }))
		}
	}()
	current := 0
	for i := range 1000 {
		current = d.Decide(t0.Add(time.Duration(i)*time.Second), Observation{Backlog: int64(1 + i%300), Current: current}).Desired
		if current < 1 || current > 20 {
			t.Fatalf("step %d: desired %d outside [1, 20]", i, current)
		}
	}
	<-done
}
