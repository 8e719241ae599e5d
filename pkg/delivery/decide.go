package delivery

import "time"

// Action is what to do with an event after an attempt.
type Action int

const (
	// Done: delivered; write its outputs and ack it.
	Done Action = iota
	// Retry: try again after Decision.Delay.
	Retry
	// DeadLetter: give up; send it to the dead-letter sink.
	DeadLetter
)

func (a Action) String() string {
	switch a {
	case Done:
		return "done"
	case Retry:
		return "retry"
	default:
		return "deadletter"
	}
}

// Decision is the outcome of Decide.
type Decision struct {
	Action Action
	// Delay before the next attempt, for Retry.
	Delay time.Duration
}

// Decide says what follows attempt number attempt (1-based) that ended with
// err (nil: success). A retriable failure is retried while attempts remain,
// after the policy's backoff or the Retry-After delay, whichever is longer;
// anything else that failed goes to the dead-letter sink.
func Decide(p Policy, attempt int, err *Failure) Decision {
	if err == nil {
		return Decision{Action: Done}
	}
	if !err.Retriable() || attempt > p.Retry {
		return Decision{Action: DeadLetter}
	}
	return Decision{Action: Retry, Delay: max(p.BackoffAfter(attempt), err.RetryAfter)}
}
