package child

import (
	"fmt"
	"regexp"
	"sync/atomic"
)

var (
	names    atomic.Int64
	notAName = regexp.MustCompile(`[^a-zA-Z0-9]+`)
)

// UniqueName returns a name (for a topic, a group, a subscription) that no
// other call in the process returns: kind-<the end of testName>-<n>, in
// letters, digits and dashes, so that a broker's log shows which test made
// it.
func UniqueName(testName, kind string) string {
	clean := notAName.ReplaceAllString(testName, "-")
	return fmt.Sprintf("%s-%s-%d", kind, clean[max(0, len(clean)-80):], names.Add(1))
}
