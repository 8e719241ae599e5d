package scaler

import "time"

// peakWindow remembers the recommendations that can still be the highest one
// within a trailing time window.
//
// It is a monotonic queue: times rise and values strictly fall from front to
// back. A new value evicts every older value that is not higher than it,
// since the newer one stays in any trailing window at least as long; entries
// older than the window leave from the front. So the front is always the
// peak, each record costs O(1) amortised, and the queue holds at most one
// entry per recommendation made within the window, and never more entries
// than there are distinct values in it.
type peakWindow struct {
	samples []sample
}

type sample struct {
	at    time.Time
	value int
}

// record adds value, seen at now, and returns the highest value recorded
// during the window ending at now (value itself included). Samples at least
// window old are dropped; with window 0 only value counts.
func (w *peakWindow) record(now time.Time, value int, window time.Duration) int {
	s := w.samples
	for len(s) > 0 && s[len(s)-1].value <= value {
		s = s[:len(s)-1]
	}
	s = append(s, sample{at: now, value: value})
	drop := 0
	for drop < len(s)-1 && now.Sub(s[drop].at) >= window {
		drop++
	}
	if drop > 0 {
		// Compact in place so the backing array is reused, not grown.
		s = s[:copy(s, s[drop:])]
	}
	w.samples = s
	return s[0].value
}

// len is the number of samples held, for tests of the bound.
func (w *peakWindow) len() int { return len(w.samples) }
