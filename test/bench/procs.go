package main

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// bins are the programs the benchmark builds into a temporary directory.
type bins struct {
	freshet   string // cmd/freshet
	noopfn    string // test/bench/noopfn: pass-through function (pkg/function)
	accept202 string // test/bench/accept202: plain net/http 202 server
	proxyhop  string // test/bench/proxyhop: stdlib reverse proxy
}

// repoRoot is the directory of the module the benchmark belongs to.
func repoRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("run the benchmark from inside the freshet module (make bench)")
	}
	return filepath.Dir(mod), nil
}

// build compiles the programs the benchmark runs.
func build(root, dir string) (bins, error) {
	b := bins{
		freshet:   filepath.Join(dir, "freshet"),
		noopfn:    filepath.Join(dir, "noopfn"),
		accept202: filepath.Join(dir, "accept202"),
		proxyhop:  filepath.Join(dir, "proxyhop"),
	}
	cmd := exec.Command("go", "build", "-o", dir+string(filepath.Separator), "./cmd/freshet", "./test/bench/noopfn", "./test/bench/accept202", "./test/bench/proxyhop")
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return b, fmt.Errorf("go build: %w", err)
	}
	return b, nil
}

// freeAddr returns a loopback address that was free a moment ago.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// proc is a child process: freshet dev or a helper server.
type proc struct {
	name    string
	cmd     *exec.Cmd
	base    string // http://host:port
	logPath string
	exited  chan struct{}
	waitErr error
}

// startProc starts bin with args and env, stdout to /dev/null and stderr to
// logPath, and waits until GET base+readyPath answers 200.
func startProc(name, bin string, args, env []string, base, readyPath, logPath string) (*proc, error) {
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return nil, err
	}
	defer devnull.Close()
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	// *os.File outputs go straight to the child: no copying goroutine in
	// the load generator.
	cmd.Stdout, cmd.Stderr = devnull, logf
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, base: base, logPath: logPath, exited: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	deadline := time.Now().Add(time.Minute)
	for {
		resp, err := http.Get(base + readyPath)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p, nil
			}
		}
		select {
		case <-p.exited:
			return nil, fmt.Errorf("%s exited before it was ready: %v\n%s", name, p.waitErr, p.logTail(30))
		case <-time.After(20 * time.Millisecond): // readiness poll interval
		}
		if time.Now().After(deadline) {
			p.kill()
			return nil, fmt.Errorf("%s not ready after 1m:\n%s", name, p.logTail(30))
		}
	}
}

// startFreshet runs `freshet dev -f yamlPath` on a free port with its own
// data directory under dir.
func startFreshet(b bins, dir, name, yamlPath string) (*proc, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	data := filepath.Join(dir, name+"-data")
	level := "warn"
	if l := os.Getenv("BENCH_FRESHET_LOG_LEVEL"); l != "" {
		level = l // e.g. info: freshet's scale decisions in its log
	}
	args := []string{"dev", "--addr", addr, "--data-dir", data, "--grace", "10s", "--log-level", level, "-f", yamlPath}
	p, err := startProc("freshet dev ("+name+")", b.freshet, args, nil, "http://"+addr, "/readyz", filepath.Join(dir, name+".log"))
	if err == nil {
		logf("%s: pid %d, %s", p.name, p.pid(), p.base)
	}
	return p, err
}

// startHelper runs a helper server (a function or the 202 baseline) with
// PORT set to a free port, and env.
func startHelper(bin, dir, name string, env ...string) (*proc, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	_, port, _ := net.SplitHostPort(addr)
	return startProc(name, bin, nil, append([]string{"PORT=" + port}, env...), "http://"+addr, "/healthz", filepath.Join(dir, name+".log"))
}

// stop sends SIGTERM and waits for the process to exit; it kills it after
// timeout. It reports an exit other than 0.
func (p *proc) stop(timeout time.Duration) error {
	select {
	case <-p.exited:
		return fmt.Errorf("%s had already exited: %v", p.name, p.waitErr)
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(timeout):
		p.kill()
		return fmt.Errorf("%s did not exit within %v of SIGTERM; killed", p.name, timeout)
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		return fmt.Errorf("%s exited %d after SIGTERM:\n%s", p.name, code, p.logTail(20))
	}
	return nil
}

// kill stops the process with SIGKILL (its replicas die with it: the local
// runtime sets Pdeathsig).
func (p *proc) kill() {
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Kill()
	<-p.exited
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

func (p *proc) logTail(n int) string {
	data, _ := os.ReadFile(p.logPath)
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// children lists the live child processes of pid.
func children(pid int) []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	want := strconv.Itoa(pid)
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		fields := statFields(stat)
		if len(fields) > 1 && fields[1] == want && fields[0] != "Z" {
			n, _ := strconv.Atoi(e.Name())
			out = append(out, n)
		}
	}
	return out
}

// statFields returns the fields of /proc/PID/stat after "pid (comm)":
// state, ppid, ...
func statFields(stat []byte) []string {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 || i+2 > len(stat) {
		return nil
	}
	return strings.Fields(string(stat[i+2:]))
}

// cpuTicks is the user+system CPU time of pid in clock ticks.
func cpuTicks(pid int) int64 {
	stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0
	}
	f := statFields(stat)
	// utime and stime are fields 14 and 15 of stat, 12 and 13 after comm.
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return u + s
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat CPU times.
var clockTicks = func() float64 {
	out, err := exec.Command("getconf", "CLK_TCK").Output()
	if err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(out))); err == nil && n > 0 {
			return float64(n)
		}
	}
	return 100
}()

// cpuWatch measures how many cores groups of processes used over a window.
type cpuWatch struct {
	groups  []cpuGroup
	start   []int64
	t0      time.Time
	acc     []int64 // windows closed by pause
	accSecs float64
}

type cpuGroup struct {
	name string
	pids func() []int
}

func (w *cpuWatch) add(name string, pids func() []int) {
	w.groups = append(w.groups, cpuGroup{name: name, pids: pids})
}

// ticks returns each group's CPU ticks, then the machine's busy ticks.
func (w *cpuWatch) ticks() []int64 {
	out := make([]int64, len(w.groups)+1)
	for i, g := range w.groups {
		for _, pid := range g.pids() {
			out[i] += cpuTicks(pid)
		}
	}
	out[len(w.groups)] = machineBusyTicks()
	return out
}

// machineBusyTicks is the CPU time all processes used since boot (user,
// nice, system, irq, softirq), from /proc/stat.
func machineBusyTicks() int64 {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(data), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return 0
	}
	var busy int64
	for _, i := range []int{1, 2, 3, 6, 7} {
		n, _ := strconv.ParseInt(f[i], 10, 64)
		busy += n
	}
	return busy
}

// otherLoad measures for d how many cores processes other than this one
// use: other work on the machine that would disturb the benchmark.
func otherLoad(d time.Duration) float64 {
	w := &cpuWatch{}
	w.add("self", self)
	t := w.ticks()
	time.Sleep(d)
	u := w.ticks()
	return float64((u[1]-t[1])-(u[0]-t[0])) / clockTicks / d.Seconds()
}

// begin starts a window.
func (w *cpuWatch) begin() {
	if w == nil {
		return
	}
	w.t0 = time.Now()
	w.start = w.ticks()
}

// end returns the cores each group used since begin, e.g.
// "freshet 1.21, function 0.10, load generator 0.62, everything else on the
// machine 0.01".
func (w *cpuWatch) end() string {
	if w == nil || w.start == nil {
		return ""
	}
	now := w.ticks()
	used := make([]int64, len(now))
	for i := range now {
		used[i] = now[i] - w.start[i]
	}
	w.start = nil
	return w.format(used, time.Since(w.t0).Seconds())
}

// pause ends a window like end, but adds it to the windows before it;
// total reports them all.
func (w *cpuWatch) pause() {
	if w == nil || w.start == nil {
		return
	}
	now := w.ticks()
	if w.acc == nil {
		w.acc = make([]int64, len(now))
	}
	for i := range now {
		w.acc[i] += now[i] - w.start[i]
	}
	w.accSecs += time.Since(w.t0).Seconds()
	w.start = nil
}

// total is end's report over every window closed by pause.
func (w *cpuWatch) total() string {
	if w == nil || w.acc == nil {
		return ""
	}
	return w.format(w.acc, w.accSecs)
}

func (w *cpuWatch) format(used []int64, secs float64) string {
	parts := make([]string, 0, len(w.groups)+1)
	other := used[len(w.groups)]
	for i, g := range w.groups {
		other -= used[i]
		parts = append(parts, fmt.Sprintf("%s %.2f", g.name, float64(used[i])/clockTicks/secs))
	}
	parts = append(parts, fmt.Sprintf("everything else on the machine %.2f", float64(max(other, 0))/clockTicks/secs))
	return strings.Join(parts, ", ")
}

func self() []int { return []int{os.Getpid()} }
