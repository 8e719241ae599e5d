package kafka

import (
	"testing"

	"github.com/freshetproj/freshet/pkg/source/sourcetest"
)

// TestConformanceFake runs the source suite against kfake: each test gets
// a fresh topic of 3 partitions and a fresh group.
func TestConformanceFake(t *testing.T) {
	c := fakeCluster(t)
	sourcetest.Run(t, func(t testing.TB) *sourcetest.System { return c.system(t, 3) })
}
