package delivery_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/freshetproj/freshet/pkg/delivery"
)

func TestRetriable(t *testing.T) {
	cases := []struct {
		name string
		f    *delivery.Failure
		want bool
	}{
		{"500", &delivery.Failure{Code: 500}, true},
		{"501", &delivery.Failure{Code: 501}, true},
		{"502", &delivery.Failure{Code: 502}, true},
		{"503", &delivery.Failure{Code: 503}, true},
		{"504", &delivery.Failure{Code: 504}, true},
		{"599", &delivery.Failure{Code: 599}, true},
		{"404", &delivery.Failure{Code: 404}, true},
		{"408", &delivery.Failure{Code: 408}, true},
		{"409", &delivery.Failure{Code: 409}, true},
		{"429", &delivery.Failure{Code: 429}, true},
		{"400", &delivery.Failure{Code: 400}, false},
		{"401", &delivery.Failure{Code: 401}, false},
		{"403", &delivery.Failure{Code: 403}, false},
		{"405", &delivery.Failure{Code: 405}, false},
		{"410", &delivery.Failure{Code: 410}, false},
		{"413", &delivery.Failure{Code: 413}, false},
		{"415", &delivery.Failure{Code: 415}, false},
		{"422", &delivery.Failure{Code: 422}, false},
		{"transport error", &delivery.Failure{Err: errors.New("connection refused")}, true},
		{"transport error, no Err", &delivery.Failure{}, true},
		{"timeout", delivery.AsFailure("x", context.DeadlineExceeded), true},
		{"wrapped timeout", delivery.AsFailure("x", fmt.Errorf("post: %w", context.DeadlineExceeded)), true},
		{"permanent", delivery.Permanent("x", errors.New("cannot encode")), false},
		{"permanent via AsFailure", delivery.AsFailure("y", fmt.Errorf("wrapped: %w", delivery.Permanent("x", io.EOF))), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.f.Retriable(); got != tc.want {
				t.Fatalf("%+v Retriable() = %v, want %v", tc.f, got, tc.want)
			}
		})
	}
}

func TestAsFailure(t *testing.T) {
	orig := &delivery.Failure{Destination: "http://a", Code: 503}
	if got := delivery.AsFailure("other", fmt.Errorf("wrapped: %w", orig)); got != orig {
		t.Fatalf("AsFailure of a wrapped *Failure = %+v, want the same *Failure", got)
	}
	f := delivery.AsFailure("dest", context.DeadlineExceeded)
	if f.Code != 0 || f.Destination != "dest" || !errors.Is(f, context.DeadlineExceeded) {
		t.Fatalf("AsFailure(deadline) = %+v, want code 0 to dest wrapping DeadlineExceeded", f)
	}
	if !strings.Contains(f.Error(), "timeout") {
		t.Fatalf("timeout failure %q does not say timeout", f.Error())
	}
	boom := errors.New("boom")
	f = delivery.AsFailure("dest", boom)
	if f.Code != 0 || !errors.Is(f, boom) || !strings.Contains(f.Error(), "dest") {
		t.Fatalf("AsFailure(boom) = %+v (%q)", f, f.Error())
	}
	p := delivery.Permanent("dest", boom)
	if !errors.Is(p, boom) || p.Code != 0 {
		t.Fatalf("Permanent does not wrap its error: %+v", p)
	}
	withBody := &delivery.Failure{Destination: "u", Code: 422, Body: []byte("bad input")}
	if msg := withBody.Error(); !strings.Contains(msg, "422") || !strings.Contains(msg, "bad input") {
		t.Fatalf("Error() = %q, want code and body", msg)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		value string
		want  time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"1", time.Second},
		{"2", 2 * time.Second},
		{"120", 2 * time.Minute},
		{"3600", time.Hour},
		{"7200", time.Hour}, // capped
		{"99999999999", time.Hour},
		{"-1", 0},
		{"-120", 0},
		{"1.5", 0},
		{"soon", 0},
		{" 5", 0},
		{"5s", 0},
		{now.Add(30 * time.Second).Format(http.TimeFormat), 30 * time.Second},
		{now.Add(10 * time.Minute).Format(http.TimeFormat), 10 * time.Minute},
		{now.Add(48 * time.Hour).Format(http.TimeFormat), time.Hour}, // capped
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},           // in the past
		{now.Format(http.TimeFormat), 0},
		{now.Add(45 * time.Second).Format(time.RFC850), 45 * time.Second}, // obsolete format HTTP allows
		{now.Add(45 * time.Second).Format(time.ANSIC), 45 * time.Second},  // asctime
		{"Sat, 01 Mar 2025 12:00:30", 0},                                  // no zone: not an HTTP date
		{"Sat, 41 Mar 2025 12:00:30 GMT", 0},                              // garbage date
		{now.Add(30 * time.Second).Format(time.RFC3339), 0},               // not an HTTP date
	}
	for _, tc := range cases {
		t.Run(tc.value, func(t *testing.T) {
			if got := delivery.ParseRetryAfter(tc.value, now); got != tc.want {
				t.Fatalf("ParseRetryAfter(%q) = %v, want %v", tc.value, got, tc.want)
			}
		})
	}
}

// TestParseRetryAfterHugeSeconds: a delay-seconds value so large that
// seconds×1e9 overflows int64 must still give the cap, not a wrapped value.
func TestParseRetryAfterHugeSeconds(t *testing.T) {
	now := time.Now()
	for _, v := range []string{
		"9223372036",          // just under the overflow point
		"9223372037",          // first value whose nanoseconds overflow int64
		"18446744074",         // wraps to +290ms
		"9223372036854775807", // MaxInt64: wraps to -1s
	} {
		if got := delivery.ParseRetryAfter(v, now); got != time.Hour {
			t.Fatalf("Retry-After %q gives %v, want the 1h cap (no int64 overflow)", v, got)
		}
	}
}
