package podrun

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/freshetproj/freshet/internal/poll"
)

func httpProbe(path string, port int32) *corev1.Probe {
	return &corev1.Probe{
		ProbeHandler:     corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: path, Port: intstr.FromInt32(port)}},
		PeriodSeconds:    1,
		FailureThreshold: 1,
	}
}

func TestReadinessProbeGatesReady(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, &fakeCluster{})
	p := start(t, cfg, testPod("ready", func(p *corev1.Pod) {
		p.Spec.Containers[0].Ports[0].Name = "http"
		pr := httpProbe("/ready", 0)
		pr.HTTPGet.Port = intstr.FromString("http") // by name
		p.Spec.Containers[0].ReadinessProbe = pr
	}), "127.0.201.10")
	base := "http://127.0.201.10:8080"
	mustGet(t, base+"/healthz")
	// Running, started, and the probe has run (and failed) at least once by
	// now: still not ready.
	poll.Until(t, waitLong, "running and started", func() string {
		st := p.Status()
		if st.Phase != corev1.PodRunning || st.ContainerStatuses[0].Started == nil || !*st.ContainerStatuses[0].Started {
			return fmt.Sprintf("not running: %+v", st)
		}
		return ""
	})
	if st := p.Status(); condition(st, corev1.PodReady) != corev1.ConditionFalse || condition(st, corev1.ContainersReady) != corev1.ConditionFalse || st.ContainerStatuses[0].Ready {
		t.Fatalf("ready before the probe succeeded: %+v", st)
	}
	mustGet(t, base+"/setready?v=1")
	poll.Until(t, waitLong, "Ready after the probe passes", func() string {
		if st := p.Status(); condition(st, corev1.PodReady) != corev1.ConditionTrue || !st.ContainerStatuses[0].Ready {
			return fmt.Sprintf("not ready: %+v", st.Conditions)
		}
		return ""
	})
	mustGet(t, base+"/setready?v=0")
	poll.Until(t, waitLong, "not Ready after the probe fails", func() string {
		if st := p.Status(); condition(st, corev1.PodReady) != corev1.ConditionFalse {
			return fmt.Sprintf("still ready: %+v", st.Conditions)
		}
		return ""
	})
}

func TestCrashRestartsWithBackoff(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, &fakeCluster{})
	cfg.RestartBackoff = time.Second // long enough to observe CrashLoopBackOff
	cfg.MaxRestartBackoff = 2 * time.Second
	p := start(t, cfg, testPod("crash"), "127.0.201.11")
	base := "http://127.0.201.11:8080"
	first := fetchEnv(t, base).Pid
	mustGet(t, base+"/exit?code=3")
	poll.Until(t, waitLong, "crash-loop back-off after exit 3", func() string {
		cs := p.Status().ContainerStatuses[0]
		if w := cs.State.Waiting; w == nil || w.Reason != "CrashLoopBackOff" || !strings.Contains(w.Message, "back-off 1s") {
			return fmt.Sprintf("not in back-off: %+v", cs.State)
		}
		if l := cs.LastTerminationState.Terminated; l == nil || l.ExitCode != 3 || l.Reason != "Error" {
			return fmt.Sprintf("lastState %+v", cs.LastTerminationState)
		}
		return ""
	})
	poll.Until(t, waitLong, "restarted after the back-off", func() string {
		cs := p.Status().ContainerStatuses[0]
		if cs.RestartCount != 1 || cs.State.Running == nil {
			return fmt.Sprintf("restartCount %d state %+v", cs.RestartCount, cs.State)
		}
		return ""
	})
	if second := fetchEnv(t, base).Pid; second == first {
		t.Errorf("same pid %d after the restart", second)
	}
	// The log keeps both runs.
	b, _ := os.ReadFile(p.LogPath("app"))
	if n := strings.Count(string(b), "listening on :8080"); n != 2 {
		t.Errorf("log has %d starts, want 2:\n%s", n, b)
	}
}

func TestLivenessFailureRestarts(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, &fakeCluster{})
	p := start(t, cfg, testPod("liveness", func(p *corev1.Pod) {
		pr := httpProbe("/healthz", 8080)
		// The first probes may come before the server listens, on a busy
		// machine more than one.
		pr.FailureThreshold = 5
		p.Spec.Containers[0].LivenessProbe = pr
	}), "127.0.201.12")
	base := "http://127.0.201.12:8080"
	first := fetchEnv(t, base).Pid
	mustGet(t, base+"/sethealthy?v=0")
	poll.Until(t, waitLong, "restarted after the liveness probe fails", func() string {
		cs := p.Status().ContainerStatuses[0]
		if cs.RestartCount < 1 || cs.LastTerminationState.Terminated == nil {
			return fmt.Sprintf("not restarted: %+v", cs)
		}
		return ""
	})
	if pid := fetchEnv(t, base).Pid; pid == first {
		t.Errorf("still the same process %d", pid)
	}
}

// A tcpSocket probe is dialed inside the Pod's network, so a port the
// forwarder listens on but nothing in the Pod does fails the probe.
func TestTCPProbeIsNotFooledByTheForwarder(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, &fakeCluster{})
	p := start(t, cfg, testPod("tcp", func(p *corev1.Pod) {
		p.Spec.Containers[0].Ports = append(p.Spec.Containers[0].Ports, corev1.ContainerPort{ContainerPort: 9999})
		p.Spec.Containers[0].ReadinessProbe = &corev1.Probe{
			ProbeHandler:  corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(9999)}},
			PeriodSeconds: 1,
		}
		p.Spec.Containers[0].LivenessProbe = &corev1.Probe{
			ProbeHandler:        corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(8080)}},
			InitialDelaySeconds: 1,
			PeriodSeconds:       1,
			TimeoutSeconds:      5,
			FailureThreshold:    5, // the server may be slow to listen on a busy machine
		}
	}), "127.0.201.13")
	// The forwarder accepts on 9999.
	conn, err := net.Dial("tcp", "127.0.201.13:9999")
	if err != nil {
		t.Fatalf("forwarder not listening on 9999: %v", err)
	}
	conn.Close()
	mustGet(t, "http://127.0.201.13:8080/healthz")
	// Several probe periods pass: the liveness probe on 8080 keeps the
	// container alive, the readiness one on 9999 keeps it unready.
	poll.Until(t, waitLong, "3s of running", func() string {
		run := p.Status().ContainerStatuses[0].State.Running
		if run == nil {
			return "not running (restarted by the liveness probe?)"
		}
		if d := time.Since(run.StartedAt.Time); d < 3*time.Second {
			return fmt.Sprintf("running for %s only", d)
		}
		return ""
	})
	cs := p.Status().ContainerStatuses[0]
	if cs.Ready || cs.RestartCount != 0 {
		t.Errorf("ready=%v restartCount=%d, want unready and never restarted", cs.Ready, cs.RestartCount)
	}
}

func TestExecStartupProbe(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, &fakeCluster{})
	p := start(t, cfg, testPod("exec", func(p *corev1.Pod) {
		p.Spec.Volumes = []corev1.Volume{{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
		c := &p.Spec.Containers[0]
		c.VolumeMounts = []corev1.VolumeMount{{Name: "scratch", MountPath: mountPoint("exec-probe")}}
		// Passes once the file exists in the container's mount.
		c.StartupProbe = &corev1.Probe{
			ProbeHandler:  corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{testServer, "check-file", mountPoint("exec-probe") + "/started"}}},
			PeriodSeconds: 1,
			// Re-executing this (large) test binary as the shim may take
			// more than the default second on a busy machine.
			TimeoutSeconds:   30,
			FailureThreshold: 100,
		}
	}), "127.0.201.14")
	base := "http://127.0.201.14:8080"
	mustGet(t, base+"/healthz")
	if cs := p.Status().ContainerStatuses[0]; cs.Started == nil || *cs.Started || cs.Ready {
		t.Fatalf("started before the startup probe passed: %+v", cs)
	}
	mustGet(t, base+"/write?path="+mountPoint("exec-probe")+"/started")
	poll.Until(t, waitLong, "started and Ready after the startup probe passes", func() string {
		cs := p.Status().ContainerStatuses[0]
		if cs.Started == nil || !*cs.Started || !cs.Ready {
			return fmt.Sprintf("not started and ready: %+v", cs)
		}
		return ""
	})
}

func TestRestartPolicyNever(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		code   int
		phase  corev1.PodPhase
		reason string
	}{
		{0, corev1.PodSucceeded, "Completed"},
		{4, corev1.PodFailed, "Error"},
	} {
		t.Run(tc.reason, func(t *testing.T) {
			t.Parallel()
			cfg := testConfig(t, &fakeCluster{})
			p := start(t, cfg, testPod("never-"+strings.ToLower(tc.reason), func(p *corev1.Pod) {
				p.Spec.RestartPolicy = corev1.RestartPolicyNever
				p.Spec.Containers[0].Args = []string{"exit", strconv.Itoa(tc.code)}
			}), fmt.Sprintf("127.0.201.%d", 15+tc.code))
			poll.Until(t, waitLong, "phase "+string(tc.phase), func() string {
				st := p.Status()
				if st.Phase != tc.phase {
					return fmt.Sprintf("phase %s", st.Phase)
				}
				return ""
			})
			cs := p.Status().ContainerStatuses[0]
			if term := cs.State.Terminated; term == nil || term.ExitCode != int32(tc.code) || term.Reason != tc.reason || cs.RestartCount != 0 {
				t.Errorf("status %+v", cs)
			}
		})
	}
}

func TestUnknownImage(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, &fakeCluster{})
	p := start(t, cfg, testPod("noimage", func(p *corev1.Pod) {
		p.Spec.Containers[0].Image = "example.com/nope:v2"
	}), "127.0.201.20")
	poll.Until(t, waitLong, "ErrImagePull for the unknown image", func() string {
		st := p.Status()
		w := st.ContainerStatuses[0].State.Waiting
		if w == nil || w.Reason != "ErrImagePull" || !strings.Contains(w.Message, "example.com/nope:v2") || st.Phase != corev1.PodPending {
			return fmt.Sprintf("status %+v", st)
		}
		return ""
	})
}

func TestInitContainers(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, &fakeCluster{})
	work := mountPoint("init-work")
	p := start(t, cfg, testPod("init", func(p *corev1.Pod) {
		p.Spec.Volumes = []corev1.Volume{{Name: "work", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
		mount := []corev1.VolumeMount{{Name: "work", MountPath: work}}
		p.Spec.InitContainers = []corev1.Container{
			{Name: "first", Image: "example.com/testserver", Args: []string{"write-file", work + "/one", "1"}, VolumeMounts: mount},
			// Needs the first one's file: proves the order.
			{Name: "second", Image: "example.com/testserver", Command: []string{"/bin/sh", "-c", "cat " + work + "/one > " + work + "/two"}, VolumeMounts: mount},
		}
		p.Spec.Containers[0].VolumeMounts = mount
	}), "127.0.201.21")
	if got := mustGet(t, "http://127.0.201.21:8080/file?path="+work+"/two"); got != "1" {
		t.Errorf("file from the init containers = %q", got)
	}
	st := p.Status()
	if condition(st, corev1.PodInitialized) != corev1.ConditionTrue {
		t.Errorf("conditions %+v", st.Conditions)
	}
	for _, cs := range st.InitContainerStatuses {
		if cs.State.Terminated == nil || cs.State.Terminated.Reason != "Completed" {
			t.Errorf("init container %s: %+v", cs.Name, cs.State)
		}
	}
}

func TestFailingInitContainerFailsPodUnderNever(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, &fakeCluster{})
	p := start(t, cfg, testPod("init-fails", func(p *corev1.Pod) {
		p.Spec.RestartPolicy = corev1.RestartPolicyNever
		p.Spec.InitContainers = []corev1.Container{{Name: "init", Image: "example.com/testserver", Args: []string{"exit", "1"}}}
	}), "127.0.201.22")
	poll.Until(t, waitLong, "Failed after the init container", func() string {
		st := p.Status()
		if st.Phase != corev1.PodFailed {
			return fmt.Sprintf("phase %s", st.Phase)
		}
		return ""
	})
	st := p.Status()
	if w := st.ContainerStatuses[0].State.Waiting; w == nil || w.Reason != "PodInitializing" {
		t.Errorf("app container %+v, want never started", st.ContainerStatuses[0].State)
	}
}

func TestStartErrorForMissingProgram(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, &fakeCluster{})
	p := start(t, cfg, testPod("noprog", func(p *corev1.Pod) {
		p.Spec.Containers[0].Command = []string{"no-such-program-podrun"}
	}), "127.0.201.23")
	poll.Until(t, waitLong, "StartError for the missing program", func() string {
		cs := p.Status().ContainerStatuses[0]
		last := cs.LastTerminationState.Terminated
		if last == nil || last.Reason != "StartError" || last.ExitCode != 128 || !strings.Contains(last.Message, "no-such-program-podrun") || cs.RestartCount < 1 {
			return fmt.Sprintf("status %+v", cs)
		}
		return ""
	})
}

// Stop kills the whole process group — a forked child that ignores SIGTERM
// too — closes the forwarder and reports every container terminated.
func TestStopKillsTheProcessGroup(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, &fakeCluster{})
	p := start(t, cfg, testPod("stop", func(p *corev1.Pod) {
		p.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "IGNORE_SIGTERM", Value: "1"}}
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "never", Image: "example.com/missing"})
	}), "127.0.201.24")
	base := "http://127.0.201.24:8080"
	main := fetchEnv(t, base).Pid
	child, err := strconv.Atoi(mustGet(t, base+"/fork"))
	if err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	p.Stop(context.Background(), 500*time.Millisecond)
	if d := time.Since(began); d < 500*time.Millisecond {
		t.Errorf("Stop took %s: did not wait the grace period for a process ignoring SIGTERM", d)
	}
	for _, pid := range []int{main, child} {
		poll.Until(t, waitLong, fmt.Sprintf("process %d gone", pid), func() string {
			if alive(pid) {
				return fmt.Sprintf("process %d still alive", pid)
			}
			return ""
		})
	}
	if _, err := net.Dial("tcp", "127.0.201.24:8080"); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("dial after Stop: %v, want connection refused", err)
	}
	st := p.Status()
	if st.Phase != corev1.PodFailed || condition(st, corev1.PodReady) != corev1.ConditionFalse {
		t.Errorf("phase %s conditions %+v", st.Phase, st.Conditions)
	}
	for _, cs := range st.ContainerStatuses {
		if cs.State.Terminated == nil {
			t.Errorf("container %s not terminated: %+v", cs.Name, cs.State)
		}
	}
	if term := st.ContainerStatuses[0].State.Terminated; term.ExitCode != 137 {
		t.Errorf("app exit code %d, want 137 (SIGKILL after the grace period)", term.ExitCode)
	}
}

// Ending Run's context stops the Pod.
func TestContextEndStopsPod(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, &fakeCluster{})
	ctx, cancel := context.WithCancel(context.Background())
	p, err := Run(ctx, cfg, testPod("ctx"), "127.0.201.25")
	if err != nil {
		t.Fatal(err)
	}
	pid := fetchEnv(t, "http://127.0.201.25:8080").Pid
	cancel()
	poll.Until(t, waitLong, "pod stopped with its context", func() string {
		if alive(pid) || p.Status().ContainerStatuses[0].State.Terminated == nil {
			return "pod still running"
		}
		return ""
	})
	p.Stop(context.Background(), 0) // returns at once: already stopped
}

// alive reports whether pid is a live (not zombie) process.
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// pid (comm) S ...: the state follows the last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}
