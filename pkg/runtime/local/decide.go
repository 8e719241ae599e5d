package local

import (
	"slices"
	"time"
)

// backoffReset is how long a replica must have been ready before it crashed for its next
// restart to wait only the minimum backoff again.
const backoffReset = 10 * time.Second

// restartDelay returns the wait before restarting a replica whose process just exited.
// prev is the wait before its previous restart (0 if there was none), readyFor how long
// the exited process had been ready (0 if it never was); lo and hi bound the wait.
func restartDelay(prev, readyFor, lo, hi time.Duration) time.Duration {
	if prev <= 0 || readyFor >= backoffReset {
		return lo
	}
	next := prev * 2
	if next > hi || next < prev { // next < prev: overflow
		next = hi
	}
	return max(next, lo)
}

// probeReady reports whether a health probe answered with status means the replica
// is ready: 2xx, or any 3xx/4xx, which shows a server up on the port without that path
// (404, 405, ...). 5xx (and anything else) means not yet.
func probeReady(status int) bool {
	return status >= 200 && status < 500
}

// replicaView is what placement decisions need to know about one replica that is not
// stopping.
type replicaView struct {
	ID      int  // creation order: a higher ID is a newer replica
	Current bool // runs the function's current spec
	Ready   bool
}

// plan decides how to move a function's replicas (those not stopping) toward desired
// replicas of its current spec. It returns how many replicas to start and the IDs of the
// replicas to stop. Replicas of an older spec keep serving until current ones are ready
// to take their place, so a changed spec rolls without a gap.
func plan(live []replicaView, desired int) (start int, stop []int) {
	desired = max(desired, 0)
	var cur, old []replicaView
	for _, r := range live {
		if r.Current {
			cur = append(cur, r)
		} else {
			old = append(old, r)
		}
	}
	start = max(desired-len(cur), 0)
	stop = pickStop(cur, len(cur)-desired)
	readyCur := 0
	for _, r := range cur {
		if r.Ready && !slices.Contains(stop, r.ID) {
			readyCur++
		}
	}
	keepOld := max(desired-readyCur, 0)
	return start, append(stop, pickStop(old, len(old)-keepOld)...)
}

// pickStop returns the IDs of n of rs to stop: replicas not ready before ready ones, and
// the newest first within each.
func pickStop(rs []replicaView, n int) []int {
	if n <= 0 {
		return nil
	}
	order := slices.Clone(rs)
	slices.SortFunc(order, func(a, b replicaView) int {
		if a.Ready != b.Ready {
			if a.Ready {
				return 1
			}
			return -1
		}
		return b.ID - a.ID
	})
	ids := make([]int, 0, n)
	for _, r := range order[:min(n, len(order))] {
		ids = append(ids, r.ID)
	}
	return ids
}
