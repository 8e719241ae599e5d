package e2e

import (
	"bufio"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// metric reads one sample of a Prometheus metric from the instance's
// /metrics, selected by its name and a label fragment such as
// `function="default/fn"`; ok is false when it is not there.
func (in *instance) metric(t *testing.T, name, labels string) (float64, bool) {
	t.Helper()
	resp, err := http.Get(in.base + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name) || !strings.Contains(line, labels) {
			continue
		}
		rest := line[len(name):]
		if rest == "" || (rest[0] != '{' && rest[0] != ' ') {
			continue // a longer metric name with this prefix
		}
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err != nil {
			t.Fatalf("metric line %q: %v", line, err)
		}
		return v, true
	}
	return 0, false
}

// ready is the function's ready replicas as the scaler last saw them.
func (in *instance) ready(t *testing.T, fn string) int {
	v, _ := in.metric(t, "freshet_function_replicas_ready", `function="`+fn+`"`)
	return int(v)
}
