// Package poll waits in tests for something to come true, by asking again
// until a deadline rather than sleeping a guessed time. It imports nothing
// but the standard library, so that podrun's tests, which need no API
// server, can share it with the node's.
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
