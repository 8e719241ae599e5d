package podrun

import (
	"strings"
	"testing"
)

func TestParseMemTotal(t *testing.T) {
	got, err := parseMemTotal(strings.NewReader("MemFree:  10 kB\nMemTotal:       16318412 kB\nBuffers: 1 kB\n"))
	if err != nil || got != 16318412*1024 {
		t.Errorf("parseMemTotal = %d, %v; want %d", got, err, 16318412*1024)
	}
	for _, bad := range []string{"MemFree: 10 kB\n", "MemTotal: 12 MB\n", "MemTotal: x kB\n"} {
		if got, err := parseMemTotal(strings.NewReader(bad)); err == nil {
			t.Errorf("parseMemTotal(%q) = %d, want an error", bad, got)
		}
	}
}
