package jetstream

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/freshetproj/freshet/pkg/buffer"
)

// The crash tests re-run this test binary as a child that writes (and
// perhaps reads) messages, reports it on stdout, and is then killed with
// SIGKILL by the parent, which checks that every message comes back.
const (
	crashModeEnv = "FRESHET_JETSTREAM_CRASH_MODE" // "written" or "read"
	crashDirEnv  = "FRESHET_JETSTREAM_CRASH_DIR"
	crashCount   = 1000
	crashBuffer  = "crash"
)

func crashMessages() []buffer.Message {
	msgs := make([]buffer.Message, crashCount)
	for i := range msgs {
		msgs[i] = buffer.Message{ID: fmt.Sprintf("c-%d", i), Data: make([]byte, 1024)}
	}
	return msgs
}

func TestCrashAfterWrite(t *testing.T)         { testCrash(t, "written") }
func TestCrashAfterReadBeforeAck(t *testing.T) { testCrash(t, "read") }

func testCrash(t *testing.T, mode string) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashModeEnv+"="+mode, crashDirEnv+"="+dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start child: %v", err)
	}
	lines := bufio.NewScanner(out)
	for lines.Scan() && lines.Text() != mode {
	}
	if lines.Text() != mode {
		_ = cmd.Process.Kill()
		t.Fatalf("child exited before reporting %q: %v", mode, cmd.Wait())
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL: no clean close
		t.Fatalf("kill child: %v", err)
	}
	_ = cmd.Wait()

	s, err := Open(ctx, Config{DataDir: dir, AckWait: time.Second})
	if err != nil {
		t.Fatalf("reopen after crash: %v", err)
	}
	defer s.Close()
	b, err := s.Open(ctx, crashBuffer)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := b.Pending(ctx); err != nil || n != crashCount {
		t.Fatalf("Pending after crash = %d, %v; want %d", n, err, crashCount)
	}
	seen := map[string]bool{}
	for len(seen) < crashCount {
		ds, err := b.Read(ctx, 500, 5*time.Second)
		if err != nil {
			t.Fatalf("Read after %d of %d: %v", len(seen), crashCount, err)
		}
		if len(ds) == 0 {
			t.Fatalf("only %d of %d messages came back after the crash", len(seen), crashCount)
		}
		for _, d := range ds {
			seen[d.Message().ID] = true
			if err := d.Ack(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, m := range crashMessages() {
		if !seen[m.ID] {
			t.Errorf("message %s lost in the crash", m.ID)
		}
	}
	if n, err := b.Pending(ctx); err != nil || n != 0 {
		t.Errorf("Pending after reading all = %d, %v; want 0", n, err)
	}
}

// TestCrashChild is the child process of the crash tests; it does nothing
// unless started by one.
func TestCrashChild(t *testing.T) {
	mode := os.Getenv(crashModeEnv)
	if mode == "" {
		t.Skip("only runs as the child of a crash test")
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	s, err := Open(ctx, Config{DataDir: os.Getenv(crashDirEnv), AckWait: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Open(ctx, crashBuffer)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Write(ctx, crashMessages()); err != nil {
		t.Fatal(err)
	}
	if mode == "read" {
		for n := 0; n < crashCount; {
			ds, err := b.Read(ctx, crashCount-n, time.Second)
			if err != nil {
				t.Fatal(err)
			}
			n += len(ds)
		}
	}
	fmt.Println(mode)
	<-ctx.Done() // wait for SIGKILL; the parent's deadline ends an orphan
	t.Fatal("not killed")
}
