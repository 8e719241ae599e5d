// Package delivery decides what happens to an event after an attempt to send
// it to a function or sink, following Knative's delivery spec: how many
// attempts, how long between them, which failures are retried, and when an
// event goes to the dead-letter sink. Decisions are pure; sending is in
// send.go.
package delivery

import (
	"time"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
)

// Policy is a resolved delivery policy.
type Policy struct {
	// Retry is how many times a retriable failure is retried: attempts = Retry + 1.
	Retry int
	// Backoff is linear or exponential.
	Backoff v1alpha1.BackoffPolicy
	// Delay is the base delay between attempts.
	Delay time.Duration
	// Timeout bounds one attempt.
	Timeout time.Duration
}

// maxBackoff caps any computed delay, so a large retry count cannot overflow.
const maxBackoff = time.Hour

// PolicyFor resolves a (defaulted) Delivery spec into a Policy.
func PolicyFor(d v1alpha1.Delivery) Policy {
	d.SetDefaults()
	return Policy{
		Retry:   int(*d.Retry),
		Backoff: d.BackoffPolicy,
		Delay:   d.BackoffDelay.Duration,
		Timeout: d.Timeout.Duration,
	}
}

// BackoffAfter is the delay before the attempt that follows failed attempt
// number attempt (1-based): Delay×attempt when linear, Delay×2^(attempt-1)
// when exponential, capped at an hour.
func (p Policy) BackoffAfter(attempt int) time.Duration {
	if attempt < 1 {
		attempt = 1
	}
	var d time.Duration
	switch p.Backoff {
	case v1alpha1.BackoffLinear:
		if p.Delay > 0 && time.Duration(attempt) > maxBackoff/p.Delay {
			return maxBackoff
		}
		d = p.Delay * time.Duration(attempt)
	default:
		if attempt > 32 {
			return maxBackoff
		}
		d = p.Delay << (attempt - 1)
	}
	if d <= 0 || d > maxBackoff {
		return maxBackoff
	}
	return d
}
