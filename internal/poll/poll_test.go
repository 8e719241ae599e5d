package poll

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestUntilReturnsOnceDone(t *testing.T) {
	asks := 0
	Until(t, 10*time.Second, "the third ask", func() string {
		asks++
		if asks < 3 {
			return fmt.Sprintf("ask %d", asks)
		}
		return ""
	})
	if asks != 3 {
		t.Errorf("asked %d times, want 3", asks)
	}
}

// TestUntilFailsWithTheLastAnswer runs Until under a recorder in its own
// goroutine, as t.Fatalf ends the goroutine that calls it.
func TestUntilFailsWithTheLastAnswer(t *testing.T) {
	rec := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		Until(rec, 3*Interval, "the impossible", func() string { return "still not" })
		rec.returned = true
	}()
	<-done
	if rec.returned || !strings.Contains(rec.msg, "the impossible: not within") || !strings.HasSuffix(rec.msg, ": still not") {
		t.Errorf("Until returned %v, failed with %q; want a failure naming what and the last answer", rec.returned, rec.msg)
	}
}

// recorder is a testing.TB whose Fatalf records the message and ends the
// goroutine, as the real one does, without failing the test.
type recorder struct {
	testing.TB
	msg      string
	returned bool
}

func (r *recorder) Helper() {}

func (r *recorder) Fatalf(format string, args ...any) {
	r.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func TestTrueReturnsOnceItHolds(t *testing.T) {
	asks := 0
	True(t, 10*time.Second, "the second ask", func() bool {
		asks++
		return asks == 2
	})
	if asks != 2 {
		t.Errorf("asked %d times, want 2", asks)
	}
}
