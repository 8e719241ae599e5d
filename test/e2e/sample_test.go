package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/freshetproj/freshet/internal/poll"
)

// TestSamplePipeline runs samples/pipeline.yaml exactly as the README does
// (the Go function through `go run`, the Python one through python3) and
// checks the fan-out: every event reaches the "all" log sink, long ones
// the "long" sink too, so a long text's id is printed twice.
func TestSamplePipeline(t *testing.T) {
	in := startFreshet(t, freePort(t), t.TempDir(), filepath.Join(bins.root, "samples/pipeline.yaml"))
	want := map[string]int{}
	for i := range 20 {
		text := "short"
		if i%2 == 1 {
			text = "a text of more than sixteen characters"
		}
		id := fmt.Sprintf("s%d", i)
		status := post(t, in.base+"/pipelines/default/enrich-classify/in", id, fmt.Sprintf(`{"text": %q}`, text))
		if status != http.StatusAccepted {
			t.Fatalf("event %s: status %d, want 202", id, status)
		}
		want[id+"-enriched-classified"] = 1 + i%2
	}
	got := map[string]int{}
	poll.True(t, 2*time.Minute, "40-ish sink lines", func() bool {
		got = map[string]int{}
		for _, line := range in.stdout.snapshot() {
			var e struct {
				ID   string `json:"id"`
				Type string `json:"type"`
			}
			if err := json.Unmarshal([]byte(line), &e); err != nil {
				t.Fatalf("log sink line is not JSON: %q: %v", line, err)
			}
			got[e.ID]++
		}
		return len(got) == len(want) && sum(got) == sum(want)
	})
	for id, n := range want {
		if got[id] != n {
			t.Errorf("%s printed %d times, want %d", id, got[id], n)
		}
	}

	// The Function is also invocable on its own, synchronously.
	req, _ := http.NewRequest(http.MethodPost, in.base+"/functions/default/enrich", strings.NewReader(`{"text": "hi"}`))
	setCE(req.Header, "sync-1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Ce-Id") != "sync-1-enriched" || !strings.Contains(string(body), `"upper":"HI"`) {
		t.Fatalf("invoke: %d %q %s", resp.StatusCode, resp.Header.Get("Ce-Id"), body)
	}
	in.stop()
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func setCE(h http.Header, id string) {
	h.Set("Ce-Specversion", "1.0")
	h.Set("Ce-Id", id)
	h.Set("Ce-Source", "/e2e")
	h.Set("Ce-Type", "dev.freshet.e2e.text")
	h.Set("Content-Type", "application/json")
}

func post(t *testing.T, url, id, body string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	setCE(req.Header, id)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestInvalidManifest: freshet dev refuses a bad file and says where the
// problem is: file, object and field.
func TestInvalidManifest(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.yaml")
	bad := `apiVersion: freshet.dev/v1alpha1
kind: Function
metadata:
  name: scorer
spec:
  container:
    command: [./scorer]
  scale:
    minimum: 1
`
	if err := os.WriteFile(path, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bins.freshet, "dev", "-f", path, "--addr", freePort(t), "--data-dir", t.TempDir()).CombinedOutput()
	if err == nil {
		t.Fatalf("freshet dev accepted an unknown field:\n%s", out)
	}
	for _, part := range []string{path, `Function "scorer"`, "spec.scale.minimum"} {
		if !strings.Contains(string(out), part) {
			t.Errorf("error does not name %q:\n%s", part, out)
		}
	}
}
