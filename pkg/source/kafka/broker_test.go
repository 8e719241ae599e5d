package kafka

import (
	"testing"

	"github.com/freshetproj/freshet/pkg/source/sourcetest"
)

// TestBroker runs the tests that need a real Kafka broker (Kafka 4.1 from
// test/brokers/kafka) against one broker started for them.
func TestBroker(t *testing.T) {
	c := brokerCluster(t)
	t.Run("Conformance", func(t *testing.T) {
		sourcetest.Run(t, func(t testing.TB) *sourcetest.System { return c.system(t, 3) })
	})
	t.Run("Kcat", func(t *testing.T) { testKcat(t, c) })
	t.Run("Rebalance", func(t *testing.T) { testRebalance(t, c) })
	t.Run("Backlog", func(t *testing.T) { testBacklog(t, c) })
}
