package delivery_test

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
	"github.com/freshetproj/freshet/pkg/delivery"
)

func TestBackoffAfter(t *testing.T) {
	const d = 100 * time.Millisecond
	linear := delivery.Policy{Backoff: v1alpha1.BackoffLinear, Delay: d}
	exponential := delivery.Policy{Backoff: v1alpha1.BackoffExponential, Delay: d}
	cases := []struct {
		name    string
		policy  delivery.Policy
		attempt int
		want    time.Duration
	}{
		{"linear/0 counts as 1", linear, 0, d},
		{"linear/-5 counts as 1", linear, -5, d},
		{"linear/1", linear, 1, d},
		{"linear/2", linear, 2, 2 * d},
		{"linear/3", linear, 3, 3 * d},
		{"linear/10", linear, 10, 10 * d},
		{"linear/at cap", linear, 36000, time.Hour},
		{"linear/past cap", linear, 36001, time.Hour},
		{"linear/MaxInt32", linear, math.MaxInt32, time.Hour},
		{"linear/MaxInt", linear, math.MaxInt, time.Hour},
		{"exponential/0 counts as 1", exponential, 0, d},
		{"exponential/1", exponential, 1, d},
		{"exponential/2", exponential, 2, 2 * d},
		{"exponential/3", exponential, 3, 4 * d},
		{"exponential/4", exponential, 4, 8 * d},
		{"exponential/10", exponential, 10, 512 * d},
		{"exponential/16 (3276.8s)", exponential, 16, 32768 * d},
		{"exponential/17 past cap", exponential, 17, time.Hour},
		{"exponential/32", exponential, 32, time.Hour},
		{"exponential/33", exponential, 33, time.Hour},
		{"exponential/64", exponential, 64, time.Hour},
		{"exponential/65", exponential, 65, time.Hour},
		{"exponential/MaxInt", exponential, math.MaxInt, time.Hour},
		{"empty backoff is exponential", delivery.Policy{Delay: d}, 3, 4 * d},
		{"exponential/1h delay", delivery.Policy{Backoff: v1alpha1.BackoffExponential, Delay: time.Hour}, 32, time.Hour},
		{"linear/1h delay", delivery.Policy{Backoff: v1alpha1.BackoffLinear, Delay: time.Hour}, 1 << 40, time.Hour},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.policy.BackoffAfter(tc.attempt); got != tc.want {
				t.Fatalf("BackoffAfter(%d) with %+v = %v, want %v", tc.attempt, tc.policy, got, tc.want)
			}
		})
	}
}

// TestBackoffAfterNeverOverflows checks the documented cap for every
// attempt count, including those where Delay×attempt or Delay<<attempt
// overflows int64: the result is never above an hour and never below the
// true delay capped at an hour (an early jump to the cap is allowed).
func TestBackoffAfterNeverOverflows(t *testing.T) {
	delays := []time.Duration{
		time.Nanosecond, time.Millisecond, 10 * time.Millisecond, 200 * time.Millisecond,
		time.Second, 7 * time.Second, 10 * time.Second, time.Minute, time.Hour,
	}
	var attempts []int
	for a := 1; a <= 70; a++ {
		attempts = append(attempts, a)
	}
	for k := 20; k < 63; k++ {
		for _, j := range []int{-1, 0, 1, 3} {
			attempts = append(attempts, 1<<k+j)
		}
	}
	attempts = append(attempts, math.MaxInt32, math.MaxInt-1, math.MaxInt)
	var bugs []string
	for _, backoff := range []v1alpha1.BackoffPolicy{v1alpha1.BackoffLinear, v1alpha1.BackoffExponential} {
		for _, d := range delays {
			p := delivery.Policy{Backoff: backoff, Delay: d}
			for _, a := range attempts {
				got := p.BackoffAfter(a)
				want := trueBackoff(backoff, d, a)
				if got < want || got > time.Hour {
					// One example per policy is enough to see the pattern.
					bugs = append(bugs, fmt.Sprintf("%s delay %v: BackoffAfter(%d) = %v, want %v", backoff, d, a, got, want))
					break
				}
			}
		}
	}
	if len(bugs) > 0 {
		t.Fatalf("BackoffAfter must cap huge attempts at 1h without overflowing:\n  %s", strings.Join(bugs, "\n  "))
	}
}

// trueBackoff computes the capped delay without overflowing.
func trueBackoff(b v1alpha1.BackoffPolicy, d time.Duration, attempt int) time.Duration {
	limit := float64(time.Hour)
	var v float64
	if b == v1alpha1.BackoffLinear {
		v = float64(d) * float64(attempt)
	} else {
		v = float64(d) * math.Pow(2, float64(attempt-1))
	}
	if v >= limit {
		return time.Hour
	}
	return time.Duration(v)
}

func TestPolicyFor(t *testing.T) {
	retry := int32(5)
	p := delivery.PolicyFor(v1alpha1.Delivery{Retry: &retry, BackoffPolicy: v1alpha1.BackoffLinear})
	if p.Retry != 5 || p.Backoff != v1alpha1.BackoffLinear {
		t.Fatalf("PolicyFor kept neither retry nor backoff: %+v", p)
	}
	if p.Delay <= 0 || p.Timeout <= 0 {
		t.Fatalf("PolicyFor did not default delay and timeout: %+v", p)
	}
	def := delivery.PolicyFor(v1alpha1.Delivery{})
	if def.Backoff != v1alpha1.DefaultBackoffPolicy || def.Delay != v1alpha1.DefaultBackoffDelay {
		t.Fatalf("PolicyFor(empty) = %+v, want the defaults", def)
	}
}
