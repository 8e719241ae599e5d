// Package buffertest is the conformance suite of buffer.Store: every
// implementation runs Run in its own tests and must pass all of it.
package buffertest

import (
	"testing"
	"time"

	"github.com/freshetproj/freshet/pkg/buffer"
)

// Options are the store settings a subtest needs.
type Options struct {
	// AckWait is the redelivery timeout of unsettled deliveries. Zero
	// means the implementation's default (at least a few seconds).
	AckWait time.Duration
}

// Harness creates the stores under test.
type Harness interface {
	// Open returns a new store with no buffers, configured with opts. The
	// harness closes it (and any store Restart returns) when t ends,
	// ignoring ErrClosed.
	Open(t *testing.T, opts Options) buffer.Store
	// Restart closes or kills store without settling its deliveries and
	// returns a new store on the same durable state and options, as after
	// a restart of the process. If the suite has already closed store
	// (Close returned nil), Restart only opens the new store.
	Restart(t *testing.T, store buffer.Store) buffer.Store
}

// Run runs the conformance suite against h.
func Run(t *testing.T, h Harness) {
	tests := []struct {
		name string
		run  func(*testing.T, Harness)
	}{
		{"NoLoss", testNoLoss},
		{"Duplicates", testDuplicates},
		{"NackRedelivery", testNackRedelivery},
		{"AckTimeoutRedelivery", testAckTimeoutRedelivery},
		{"InProgressExtendsAckWait", testInProgress},
		{"SlowReaderNoRedelivery", testSlowReader},
		{"PendingCounts", testPendingCounts},
		{"SettledIgnoresLaterCalls", testSettled},
		{"Restart", testRestart},
		{"CloseReturnsUnread", testCloseReturnsUnread},
		{"IndependentBuffers", testIndependent},
		{"Closed", testClosed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, h) })
	}
}
