package local

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestStartOneReadyAndAnswers(t *testing.T) {
	h := newHarness(t)
	h.start(t, "echo", echo(), 1)

	status, answer, _, err := h.router.send("echo", "", "hello")
	if err != nil || status != 200 || answer != "hello" {
		t.Fatalf("send = %d %q %v, want 200 \"hello\"", status, answer, err)
	}
	if desired, ready := h.Status("echo"); desired != 1 || ready != 1 {
		t.Errorf("Status = %d, %d, want 1, 1", desired, ready)
	}
	port := strings.TrimPrefix(h.router.endpoints("echo")[0], "http://127.0.0.1:")
	if want := fmt.Sprintf("[echo-1] pid=%d port=%s\n", h.Pids("echo")[0], port); !h.log.contains(want) {
		t.Errorf("log lacks %q", want)
	}
	// Same spec again: nothing restarts.
	pids := h.Pids("echo")
	if err := h.Apply("echo", echo()); err != nil {
		t.Fatal(err)
	}
	if got := h.Pids("echo"); !slices.Equal(got, pids) {
		t.Errorf("Pids after re-applying the same spec = %v, want %v", got, pids)
	}
}

func TestScaleUpAndDown(t *testing.T) {
	h := newHarness(t)
	h.start(t, "echo", echo(), 1)
	oldest := h.router.endpoints("echo")[0]

	h.scale(t, "echo", 3)
	eps := h.router.endpoints("echo")
	for range eps {
		if status, _, url, err := h.router.send("echo", "", "x"); err != nil || status != 200 {
			t.Errorf("send to %s = %d, %v", url, status, err)
		}
	}
	if desired, ready := h.Status("echo"); desired != 3 || ready != 3 {
		t.Errorf("Status = %d, %d, want 3, 3", desired, ready)
	}

	h.scale(t, "echo", 1)
	if got := h.router.endpoints("echo"); !slices.Equal(got, []string{oldest}) {
		t.Errorf("endpoints after scale-down = %v, want the oldest %v", got, oldest)
	}
	if desired, ready := h.Status("echo"); desired != 1 || ready != 1 {
		t.Errorf("Status = %d, %d, want 1, 1", desired, ready)
	}
}

func TestCrashedReplicaIsWithdrawnAndRestarted(t *testing.T) {
	h := newHarness(t)
	h.start(t, "echo", echo(), 1)
	pid, oldURL := h.Pids("echo")[0], h.router.endpoints("echo")[0]
	seen := len(h.router.callsOf("echo"))

	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the crashed replica withdrawn", func() bool {
		for _, urls := range h.router.callsOf("echo")[seen:] {
			if !slices.Contains(urls, oldURL) {
				return true
			}
		}
		return false
	})
	waitFor(t, "a new endpoint", func() bool {
		eps := h.router.endpoints("echo")
		return len(eps) == 1 && eps[0] != oldURL
	})
	if pids := h.Pids("echo"); len(pids) != 1 || pids[0] == pid {
		t.Errorf("Pids after restart = %v, want one other than %d", pids, pid)
	}
	if status, answer, _, err := h.router.send("echo", "", "again"); err != nil || status != 200 || answer != "again" {
		t.Errorf("send after restart = %d %q %v", status, answer, err)
	}
	if !h.log.contains("[echo-1] local runtime: function echo replica 1: process " + strconv.Itoa(pid) + " exited") {
		t.Error("log lacks the crash note")
	}
}

func TestScaleDownDrainsInFlightRequest(t *testing.T) {
	h := newHarness(t)
	spec := echo()
	spec.Grace = waitTimeout
	h.start(t, "echo", spec, 1)
	pid := h.Pids("echo")[0]

	type result struct {
		status int
		answer string
		err    error
	}
	done := make(chan result, 1)
	go func() {
		status, answer, _, err := h.router.send("echo", "sleep=1s", "slow")
		done <- result{status, answer, err}
	}()
	waitFor(t, "the slow request to reach the function", func() bool {
		return h.log.contains("[echo-1] slow request started")
	})
	if err := h.SetReplicas("echo", 0); err != nil {
		t.Fatal(err)
	}
	select {
	case res := <-done:
		if res.err != nil || res.status != 200 || res.answer != "slow" {
			t.Errorf("in-flight request = %d %q %v, want 200 \"slow\"", res.status, res.answer, res.err)
		}
	case <-time.After(waitTimeout):
		t.Fatal("the in-flight request did not return")
	}
	waitFor(t, "the replica to stop", func() bool { return len(h.Pids("echo")) == 0 && !alive(pid) })
	// SIGTERM came only once the function had no request in flight, and it shut down.
	if log := h.log.String(); !strings.Contains(log, "[echo-1] sigterm inflight=0\n") ||
		!strings.Contains(log, "[echo-1] exiting\n") {
		t.Errorf("want SIGTERM with nothing in flight, then a clean exit")
	}
	if eps := h.router.endpoints("echo"); len(eps) != 0 {
		t.Errorf("endpoints after scale to zero = %v", eps)
	}
}

func TestSIGKILLAfterGrace(t *testing.T) {
	h := newHarness(t)
	spec := echo("IGNORE_SIGTERM=1")
	spec.Grace = 500 * time.Millisecond
	h.start(t, "stubborn", spec, 1)
	pid := h.Pids("stubborn")[0]

	begin := time.Now()
	if err := h.SetReplicas("stubborn", 0); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the stubborn process to die", func() bool { return !alive(pid) })
	if elapsed := time.Since(begin); elapsed < spec.Grace {
		t.Errorf("killed after %v, before the grace of %v", elapsed, spec.Grace)
	}
	waitFor(t, "the kill note", func() bool { return h.log.contains("sending SIGKILL") })
	if log := h.log.String(); !strings.Contains(log, "[stubborn-1] sigterm ignored") || strings.Contains(log, "exiting") {
		t.Error("want SIGTERM ignored first, then a kill without a clean exit")
	}
}

func TestShellWrapperLeavesNoOrphans(t *testing.T) {
	h := newHarness(t)
	h.start(t, "wrapped", ProcessSpec{Command: []string{"/bin/sh", "-c", echofn + " & wait"}}, 1)
	shell := h.Pids("wrapped")[0]
	child := grandchildPid(t, h, "wrapped-1", 1)

	if err := syscall.Kill(shell, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the wrapped function to die with its shell", func() bool { return !alive(child) })
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := h.WaitReady(ctx, "wrapped", 1); err != nil {
		t.Fatal(err)
	}
	restarted := grandchildPid(t, h, "wrapped-1", 2)
	if err := h.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if alive(restarted) {
		t.Errorf("wrapped function %d outlived Close", restarted)
	}
}

// grandchildPid waits for the nth "pid=" line of replica in the log and returns its pid.
func grandchildPid(t *testing.T, h *harness, replica string, nth int) int {
	t.Helper()
	re := regexp.MustCompile(`\[` + replica + `\] pid=(\d+) `)
	var m [][]string
	waitFor(t, fmt.Sprintf("start %d of %s", nth, replica), func() bool {
		m = re.FindAllStringSubmatch(h.log.String(), -1)
		return len(m) >= nth
	})
	pid, _ := strconv.Atoi(m[nth-1][1])
	return pid
}

func TestRedefineRollsWithoutGap(t *testing.T) {
	h := newHarness(t)
	h.start(t, "echo", echo(), 2)
	old := h.Pids("echo")
	seen := len(h.router.callsOf("echo"))

	if err := h.Apply("echo", echo("VERSION=2")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the roll to finish", func() bool {
		pids := h.Pids("echo")
		_, ready := h.Status("echo")
		return ready == 2 && len(pids) == 2 && !slices.Contains(pids, old[0]) &&
			!slices.Contains(pids, old[1]) && len(h.router.endpoints("echo")) == 2
	})
	for i, urls := range h.router.callsOf("echo")[seen:] {
		if len(urls) == 0 {
			t.Errorf("SetEndpoints call %d during the roll withdrew every replica", seen+i)
		}
	}
}

func TestCrashLoopBacksOff(t *testing.T) {
	h := newHarness(t)
	if err := h.Apply("broken", ProcessSpec{Command: []string{"/bin/sh", "-c", "echo boom; exit 3"}}); err != nil {
		t.Fatal(err)
	}
	if err := h.SetReplicas("broken", 1); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "three restarts", func() bool { return strings.Count(h.log.String(), "restarting in") >= 3 })
	log := h.log.String()
	for _, want := range []string{"[broken-1] boom\n", "exit status 3; restarting in 100ms\n",
		"restarting in 200ms\n", "restarting in 400ms\n"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q", want)
		}
	}
	if desired, ready := h.Status("broken"); desired != 1 || ready != 0 {
		t.Errorf("Status = %d, %d, want 1, 0", desired, ready)
	}
}

func TestCloseStopsEverything(t *testing.T) {
	h := newHarness(t)
	h.start(t, "a", echo(), 2)
	stubborn := echo("IGNORE_SIGTERM=1")
	stubborn.Grace = 300 * time.Millisecond
	h.start(t, "b", stubborn, 1)
	pids := append(h.Pids("a"), h.Pids("b")...)

	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := h.Close(ctx); err != nil {
		t.Fatal(err)
	}
	for _, pid := range pids {
		if alive(pid) {
			t.Errorf("process %d is alive after Close", pid)
		}
	}
	if err := h.Apply("c", echo()); !errors.Is(err, ErrClosed) {
		t.Errorf("Apply after Close = %v, want ErrClosed", err)
	}
	if err := h.SetReplicas("a", 1); !errors.Is(err, ErrClosed) {
		t.Errorf("SetReplicas after Close = %v, want ErrClosed", err)
	}
	waitFor(t, "the runtime's goroutines to end", func() bool { return runtimeGoroutines() == "" })
}

func TestCloseCutShortKills(t *testing.T) {
	h := newHarness(t)
	spec := echo("IGNORE_SIGTERM=1")
	spec.Grace = waitTimeout
	h.start(t, "stubborn", spec, 1)
	pid := h.Pids("stubborn")[0]

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := h.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close = %v, want a deadline error", err)
	}
	if alive(pid) {
		t.Errorf("process %d is alive after Close", pid)
	}
	waitFor(t, "the runtime's goroutines to end", func() bool { return runtimeGoroutines() == "" })
}

// runtimeGoroutines returns the stacks of goroutines running this package's non-test code.
func runtimeGoroutines() string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var found []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "runtime/local.(*replica)") || strings.Contains(g, "runtime/local.(*Runtime)") ||
			strings.Contains(g, "runtime/local.startProcess") {
			found = append(found, g)
		}
	}
	return strings.Join(found, "\n\n")
}
