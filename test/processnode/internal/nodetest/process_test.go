package nodetest

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/freshetproj/freshet/internal/poll"
)

func TestParseStat(t *testing.T) {
	for _, tc := range []struct {
		stat  string
		state string
		ppid  int
		ok    bool
	}{
		{stat: "42 (echoserver) S 7 42 42 0 -1", state: "S", ppid: 7, ok: true},
		{stat: "42 (a) b) (c) Z 1 0 0", state: "Z", ppid: 1, ok: true},
		{stat: "42 echoserver S 7", ok: false},
		{stat: "42 (x) R", ok: false},
	} {
		state, ppid, ok := parseStat(tc.stat)
		if state != tc.state || ppid != tc.ppid || ok != tc.ok {
			t.Errorf("parseStat(%q) = %q, %d, %v; want %q, %d, %v", tc.stat, state, ppid, ok, tc.state, tc.ppid, tc.ok)
		}
	}
}

// TestProcessGone: a running child is not gone, nor is it as an unreaped
// zombie of ours; once reaped it is.
func TestProcessGone(t *testing.T) {
	if msg := ProcessGone(os.Getpid()); msg == "" {
		t.Error("ProcessGone(this process) = \"\", want a reason it is not gone")
	}
	cmd := exec.Command("true")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	// Until Wait it runs or is our zombie: never gone.
	if msg := ProcessGone(pid); msg == "" {
		t.Errorf("ProcessGone(unreaped child %d) = \"\", want a reason", pid)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	if msg := ProcessGone(pid); msg != "" {
		t.Errorf("ProcessGone(reaped child %d) = %q, want \"\"", pid, msg)
	}
}

// TestOrphanZombieIsGone: an exited orphan is gone, whether its new parent
// reaps it or (as PID 1 in a container may) leaves it a zombie.
func TestOrphanZombieIsGone(t *testing.T) {
	out, err := exec.Command("sh", "-c", "true & echo $!").Output()
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("sh printed %q: %v", out, err)
	}
	poll.Until(t, 30*time.Second, "orphan "+strconv.Itoa(pid)+" gone", func() string { return ProcessGone(pid) })
}
