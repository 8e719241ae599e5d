// Package poll waits in tests for something to come true, by asking again
// until a deadline rather than sleeping a guessed time: the one wait loop
// of the test kits (sourcetest, envtest, traffic) and of the tests. It
// imports nothing but the standard library, so that tests which need no API
// server can use it.
package poll

import (
	"testing"
	"time"
)

// Interval is how long Until waits between two asks: short against the
// seconds a process or an API server takes, long enough not to crowd a
// busy machine.
const Interval = 50 * time.Millisecond

// Until asks cond every Interval until it returns "" (done), failing t with
// what and cond's last answer (why it is not done yet) once within has
// passed.
func Until(t testing.TB, within time.Duration, what string, cond func() (notYet string)) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		msg := cond()
		if msg == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v: %s", what, within, msg)
		}
		time.Sleep(Interval)
	}
}

// Check adapts a cond that says whether it holds and, if not, why, to
// Until: the form the envtest and sourcetest kits take.
func Check(cond func() (ok bool, why string)) func() (notYet string) {
	return func() string {
		if ok, why := cond(); !ok {
			if why == "" {
				return "not yet"
			}
			return why
		}
		return ""
	}
}

// True asks cond every Interval until it holds, failing t with what once
// within has passed.
func True(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	Until(t, within, what, func() string {
		if cond() {
			return ""
		}
		return "not yet"
	})
}
