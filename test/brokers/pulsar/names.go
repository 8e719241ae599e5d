package pulsar

import (
	"testing"

	"github.com/freshetproj/freshet/test/internal/child"
)

// UniqueName returns a topic or subscription name that no other call in the process
// returns (child.UniqueName), for tests outside test/ that cannot import it.
func UniqueName(t testing.TB, kind string) string { return child.UniqueName(t.Name(), kind) }
