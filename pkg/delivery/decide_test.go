package delivery_test

import (
	"errors"
	"testing"
	"time"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
	"github.com/freshetproj/freshet/pkg/delivery"
)

func TestDecide(t *testing.T) {
	exp := delivery.Policy{Retry: 3, Backoff: v1alpha1.BackoffExponential, Delay: 100 * time.Millisecond}
	lin := delivery.Policy{Retry: 2, Backoff: v1alpha1.BackoffLinear, Delay: time.Second}
	none := delivery.Policy{Retry: 0, Backoff: v1alpha1.BackoffLinear, Delay: time.Second}
	f503 := &delivery.Failure{Code: 503}
	cases := []struct {
		name    string
		policy  delivery.Policy
		attempt int
		err     *delivery.Failure
		want    delivery.Decision
	}{
		{"success", exp, 1, nil, delivery.Decision{Action: delivery.Done}},
		{"success after retries", exp, 4, nil, delivery.Decision{Action: delivery.Done}},
		{"success past the attempts", exp, 99, nil, delivery.Decision{Action: delivery.Done}},
		{"503 attempt 1", exp, 1, f503, delivery.Decision{Action: delivery.Retry, Delay: 100 * time.Millisecond}},
		{"503 attempt 2", exp, 2, f503, delivery.Decision{Action: delivery.Retry, Delay: 200 * time.Millisecond}},
		{"503 attempt 3", exp, 3, f503, delivery.Decision{Action: delivery.Retry, Delay: 400 * time.Millisecond}},
		{"503 attempt 4 = retry+1", exp, 4, f503, delivery.Decision{Action: delivery.DeadLetter}},
		{"503 attempt 5", exp, 5, f503, delivery.Decision{Action: delivery.DeadLetter}},
		{"linear 500 attempt 2", lin, 2, &delivery.Failure{Code: 500}, delivery.Decision{Action: delivery.Retry, Delay: 2 * time.Second}},
		{"linear 500 attempt 3 = retry+1", lin, 3, &delivery.Failure{Code: 500}, delivery.Decision{Action: delivery.DeadLetter}},
		{"retry 0: first failure dead-letters", none, 1, f503, delivery.Decision{Action: delivery.DeadLetter}},
		{"Retry-After longer than backoff", exp, 1, &delivery.Failure{Code: 429, RetryAfter: 3 * time.Second}, delivery.Decision{Action: delivery.Retry, Delay: 3 * time.Second}},
		{"Retry-After shorter than backoff", lin, 2, &delivery.Failure{Code: 503, RetryAfter: time.Second}, delivery.Decision{Action: delivery.Retry, Delay: 2 * time.Second}},
		{"Retry-After on the last attempt", exp, 4, &delivery.Failure{Code: 429, RetryAfter: time.Second}, delivery.Decision{Action: delivery.DeadLetter}},
		{"transport error", exp, 2, &delivery.Failure{Err: errors.New("refused")}, delivery.Decision{Action: delivery.Retry, Delay: 200 * time.Millisecond}},
		{"404 retried", exp, 1, &delivery.Failure{Code: 404}, delivery.Decision{Action: delivery.Retry, Delay: 100 * time.Millisecond}},
		{"400 permanent at attempt 1", exp, 1, &delivery.Failure{Code: 400}, delivery.Decision{Action: delivery.DeadLetter}},
		{"422 permanent at attempt 1", exp, 1, &delivery.Failure{Code: 422}, delivery.Decision{Action: delivery.DeadLetter}},
		{"403 permanent at attempt 1", exp, 1, &delivery.Failure{Code: 403}, delivery.Decision{Action: delivery.DeadLetter}},
		{"Permanent at attempt 1", exp, 1, delivery.Permanent("x", errors.New("encode")), delivery.Decision{Action: delivery.DeadLetter}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := delivery.Decide(tc.policy, tc.attempt, tc.err)
			if got != tc.want {
				t.Fatalf("Decide(%+v, %d, %+v) = %+v, want %+v", tc.policy, tc.attempt, tc.err, got, tc.want)
			}
		})
	}
}

// TestDecideAttemptCount runs the decisions as the dispatcher would: a
// retriable failure gets exactly Retry+1 attempts in all.
func TestDecideAttemptCount(t *testing.T) {
	for retry := 0; retry <= 6; retry++ {
		p := delivery.Policy{Retry: retry, Backoff: v1alpha1.BackoffExponential, Delay: time.Millisecond}
		attempts := 0
		for {
			attempts++
			if attempts > 100 {
				t.Fatalf("retry %d: still retrying after 100 attempts", retry)
			}
			d := delivery.Decide(p, attempts, &delivery.Failure{Code: 500})
			if d.Action == delivery.DeadLetter {
				break
			}
			if d.Action != delivery.Retry || d.Delay <= 0 {
				t.Fatalf("retry %d attempt %d: %+v", retry, attempts, d)
			}
		}
		if attempts != retry+1 {
			t.Fatalf("retry %d: %d attempts, want %d", retry, attempts, retry+1)
		}
	}
}

func TestActionString(t *testing.T) {
	for a, want := range map[delivery.Action]string{delivery.Done: "done", delivery.Retry: "retry", delivery.DeadLetter: "deadletter"} {
		if got := a.String(); got != want {
			t.Fatalf("%d.String() = %q, want %q", a, got, want)
		}
	}
}
