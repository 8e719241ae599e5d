package local

import (
	"slices"
	"testing"
	"time"
)

func TestRestartDelay(t *testing.T) {
	const lo, hi = 100 * time.Millisecond, 10 * time.Second
	tests := []struct {
		name           string
		prev, readyFor time.Duration
		want           time.Duration
	}{
		{"first crash", 0, 0, lo},
		{"doubles", lo, 0, 200 * time.Millisecond},
		{"doubles again", 400 * time.Millisecond, 0, 800 * time.Millisecond},
		{"ready briefly still doubles", 800 * time.Millisecond, 9 * time.Second, 1600 * time.Millisecond},
		{"capped", 8 * time.Second, 0, hi},
		{"stays at cap", hi, 0, hi},
		{"reset after ready 10s", hi, 10 * time.Second, lo},
		{"reset after ready long", 5 * time.Second, time.Hour, lo},
		{"overflow caps", time.Duration(1 << 62), 0, hi},
	}
	for _, tt := range tests {
		if got := restartDelay(tt.prev, tt.readyFor, lo, hi); got != tt.want {
			t.Errorf("%s: restartDelay(%v, %v) = %v, want %v", tt.name, tt.prev, tt.readyFor, got, tt.want)
		}
	}
}

func TestProbeReady(t *testing.T) {
	tests := []struct {
		status int
		want   bool
	}{
		{200, true}, {204, true}, {302, true}, {401, true}, {404, true}, {405, true},
		{500, false}, {502, false}, {503, false}, {100, false}, {0, false},
	}
	for _, tt := range tests {
		if got := probeReady(tt.status); got != tt.want {
			t.Errorf("probeReady(%d) = %v, want %v", tt.status, got, tt.want)
		}
	}
}

// views builds replicaViews from "c"/"o" (current/old spec) and "r" (ready) flags, IDs from 1.
func views(flags ...string) []replicaView {
	var vs []replicaView
	for i, f := range flags {
		vs = append(vs, replicaView{
			ID:      i + 1,
			Current: f[0] == 'c',
			Ready:   len(f) > 1 && f[1] == 'r',
		})
	}
	return vs
}

func TestPlan(t *testing.T) {
	tests := []struct {
		name      string
		live      []replicaView
		desired   int
		wantStart int
		wantStop  []int
	}{
		{"nothing", nil, 0, 0, nil},
		{"scale from zero", nil, 1, 1, nil},
		{"scale up", views("cr"), 3, 2, nil},
		{"steady", views("cr", "c", "cr"), 3, 0, nil},
		{"scale down newest first", views("cr", "cr", "cr"), 1, 0, []int{3, 2}},
		{"scale down not ready first", views("cr", "c", "cr"), 2, 0, []int{2}},
		{"scale to zero", views("cr", "cr"), 0, 0, []int{2, 1}},
		{"negative desired is zero", views("cr"), -1, 0, []int{1}},
		{"roll starts new, keeps old", views("or", "or"), 2, 2, nil},
		{"roll one ready replaces one old", views("or", "or", "cr", "c"), 2, 0, []int{2}},
		{"roll old not ready goes first", views("or", "o", "cr", "c"), 2, 0, []int{2}},
		{"roll done", views("or", "cr", "cr"), 2, 0, []int{1}},
		{"roll to zero stops all", views("or", "cr"), 0, 0, []int{2, 1}},
		{"roll while scaling down", views("or", "or", "or", "cr"), 1, 0, []int{3, 2, 1}},
	}
	for _, tt := range tests {
		start, stop := plan(tt.live, tt.desired)
		if start != tt.wantStart || !slices.Equal(stop, tt.wantStop) {
			t.Errorf("%s: plan = start %d stop %v, want start %d stop %v",
				tt.name, start, stop, tt.wantStart, tt.wantStop)
		}
	}
}

func TestPickStop(t *testing.T) {
	tests := []struct {
		name string
		rs   []replicaView
		n    int
		want []int
	}{
		{"none", views("cr", "cr"), 0, nil},
		{"newest", views("cr", "cr", "cr"), 1, []int{3}},
		{"not ready before newer ready", views("c", "cr", "cr"), 2, []int{1, 3}},
		{"more than there are", views("cr"), 3, []int{1}},
	}
	for _, tt := range tests {
		if got := pickStop(tt.rs, tt.n); !slices.Equal(got, tt.want) {
			t.Errorf("%s: pickStop = %v, want %v", tt.name, got, tt.want)
		}
	}
}
