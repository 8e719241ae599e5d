package scaler

import (
	"testing"
	"time"
)

func TestPeakWindow(t *testing.T) {
	type rec struct {
		at     time.Duration
		value  int
		window time.Duration
		want   int
	}
	tests := []struct {
		name string
		recs []rec
	}{{
		name: "peak holds for the window, then the next lower one",
		recs: []rec{
			{0, 9, 10 * sec, 9},
			{3 * sec, 5, 10 * sec, 9},
			{6 * sec, 2, 10 * sec, 9},
			{9 * sec, 1, 10 * sec, 9},
			{10 * sec, 1, 10 * sec, 5},
			{13 * sec, 1, 10 * sec, 2},
			{16 * sec, 1, 10 * sec, 1},
		},
	}, {
		name: "a higher value replaces older lower ones",
		recs: []rec{
			{0, 3, 10 * sec, 3},
			{1 * sec, 7, 10 * sec, 7},
			{11 * sec, 1, 10 * sec, 1},
		},
	}, {
		name: "zero window keeps only the value itself",
		recs: []rec{
			{0, 9, 0, 9},
			{0, 1, 0, 1},
		},
	}, {
		name: "a longer window keeps nothing already dropped",
		recs: []rec{
			{0, 9, 5 * sec, 9},
			{5 * sec, 1, 5 * sec, 1},
			{6 * sec, 1, time.Minute, 1},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w peakWindow
			for _, r := range tt.recs {
				if got := w.record(t0.Add(r.at), r.value, r.window); got != r.want {
					t.Errorf("record(%s, %d, %s) = %d, want %d", r.at, r.value, r.window, got, r.want)
				}
			}
		})
	}
}
