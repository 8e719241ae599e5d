// Command bench measures Freshet against a direct baseline, in one run, and
// prints the table of docs/benchmarks.md (`make bench`):
//
//  1. durable HTTP ingest (events/s and 202 latency) against a plain net/http
//     server that answers 202 without storing anything;
//  2. a pipeline http → fn → fn → sink (events/s, end-to-end latency) against
//     the client calling the same two functions and the sink itself;
//  3. the latency one synchronous invoke through the router adds over
//     calling the function directly;
//  4. cold start: a function at zero woken by one synchronous invoke (and
//     25 woken at once), against the bare start of the same binary;
//  5. how fast the scaler reacts to a 10× backlog jump;
//  6. the router's overhead on a slow (100 ms) function at a fixed rate;
//  7. the Kafka source into the buffer (a real broker, hack/kafka) against
//     a bare franz-go consumer group;
//  8. a pipeline Kafka → fn → Kafka under freshet dev against a direct
//     consume → produce loop;
//  9. the SQS source into the buffer (fauxqs, hack/sqs) against the
//     emulator's own receive + delete rate;
//  10. the Pulsar source into the buffer (a real standalone broker,
//     hack/pulsar) against a bare pulsar-client-go consumer.
//
// It builds cmd/freshet and its helper programs into a temporary directory,
// runs each `freshet dev` as its own process on a free port and a fresh data
// directory, and stops it with SIGTERM. The load generator, freshet and the
// functions share the machine's cores; the output says how many.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

type options struct {
	duration time.Duration
	warmup   time.Duration
	paced    time.Duration
	senders  int
	size     int
	window   int
	rate     float64
	requests int
	wakeups  int
	rounds   int
	jumps    int
	slowRate float64
	// Benchmarks 7-10.
	kafkaRecords   int
	kafkaRate      float64
	sqsMessages    int
	pulsarMessages int
	out            string
	only           string
	settle         time.Duration
}

func main() {
	var o options
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "measured time of each throughput run")
	flag.DurationVar(&o.warmup, "warmup", 2*time.Second, "warm-up before each throughput run")
	flag.DurationVar(&o.paced, "paced", 5*time.Second, "length of each fixed-rate latency run of benchmark 2")
	flag.IntVar(&o.senders, "senders", 32, "concurrent senders")
	flag.IntVar(&o.size, "size", 1024, "event data size in bytes")
	flag.IntVar(&o.window, "window", 512, "benchmark 2: most events inside the pipeline at once during the throughput run")
	flag.Float64Var(&o.rate, "rate", 0, "benchmark 2: events/s of the fixed-rate latency run (0: half the measured Freshet throughput)")
	flag.IntVar(&o.requests, "requests", 5000, "benchmark 3: measured requests per target")
	flag.IntVar(&o.wakeups, "wakeups", 100, "benchmark 4: single cold starts measured (and bare starts of the floor)")
	flag.IntVar(&o.rounds, "rounds", 4, "benchmark 4: rounds of 25 functions woken at once")
	flag.IntVar(&o.jumps, "jumps", 4, "benchmark 5: backlog jumps measured (spread over the scaler's tick)")
	flag.Float64Var(&o.slowRate, "slowrate", 1000, "benchmark 6: requests/s of the fixed-rate invoke of the 100 ms function")
	flag.IntVar(&o.kafkaRecords, "kafkarecords", 300000, "benchmark 7: records pre-filled into the topic")
	flag.Float64Var(&o.kafkaRate, "kafkarate", 0, "benchmark 8: events/s of the fixed-rate latency run (0: half the measured Freshet throughput)")
	flag.IntVar(&o.sqsMessages, "sqsmessages", 50000, "benchmark 9: messages pre-filled into each queue")
	flag.IntVar(&o.pulsarMessages, "pulsarmessages", 200000, "benchmark 10: messages pre-filled into the topic")
	flag.StringVar(&o.out, "o", "", "also write the results as markdown to this file")
	flag.StringVar(&o.only, "only", "", "run only these benchmarks (comma-separated: ingest,pipeline,invoke,coldstart,reaction,slowinvoke,kafka,sqs,pulsar)")
	flag.DurationVar(&o.settle, "settle", 30*time.Second, "before each benchmark, wait up to this long for other processes to leave the CPUs idle")
	flag.Parse()
	if o.senders < 1 || o.size < 16 || o.window < 1 || o.requests < 1 || o.wakeups < 1 || o.rounds < 1 || o.jumps < 1 || o.slowRate <= 0 || o.kafkaRecords < 1 || o.sqsMessages < 1 || o.pulsarMessages < 1 || o.duration <= 0 || o.paced <= 0 {
		fmt.Fprintln(os.Stderr, "bench: -senders, -window, -requests, -wakeups, -rounds, -jumps, -kafkarecords, -sqsmessages, -pulsarmessages must be ≥ 1, -size ≥ 16, -slowrate and durations > 0")
		os.Exit(2)
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}

func run(o options) error {
	began := time.Now()
	root, err := repoRoot()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "freshet-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	logf("building freshet and the helper programs into %s", dir)
	b, err := build(root, dir)
	if err != nil {
		return err
	}
	rep := &report{header: machine(o)}
	if other := otherLoad(time.Second); other > 0.1 {
		logf("warning: other processes are using %.2f cores: the figures will be low", other)
		rep.note("Before the run, other processes were using %.2f cores of %d: the figures are lower than on an idle machine.", other, runtime.NumCPU())
	}
	want := func(name string) bool {
		if o.only == "" {
			return true
		}
		for _, n := range strings.Split(o.only, ",") {
			if strings.TrimSpace(n) == name {
				return true
			}
		}
		return false
	}
	benches := []struct {
		name string
		fn   func(options, bins, string, *report) error
	}{
		{"ingest", benchIngest}, {"pipeline", benchPipeline}, {"invoke", benchInvoke},
		{"coldstart", benchColdStart}, {"reaction", benchReaction}, {"slowinvoke", benchSlowInvoke},
		{"kafka", benchKafka}, {"sqs", benchSQS}, {"pulsar", benchPulsar},
	}
	for _, bn := range benches {
		if !want(bn.name) {
			continue
		}
		settle(o.settle)
		if err := bn.fn(o, b, dir, rep); err != nil {
			return fmt.Errorf("%s: %w", bn.name, err)
		}
	}
	rep.runTime = time.Since(began).Round(time.Second)
	text := rep.markdown()
	fmt.Print(text)
	if o.out != "" {
		if err := os.WriteFile(o.out, []byte(text), 0o644); err != nil {
			return err
		}
		logf("wrote %s", o.out)
	}
	return nil
}

// settle waits up to max for the machine to be quiet (other processes below
// 0.15 cores), so that another job's burst does not land in a measurement.
func settle(maxWait time.Duration) {
	deadline := time.Now().Add(maxWait)
	for {
		other := otherLoad(500 * time.Millisecond)
		if other < 0.15 {
			return
		}
		if time.Now().After(deadline) {
			logf("other processes still use %.2f cores; measuring anyway", other)
			return
		}
		logf("other processes use %.2f cores; waiting for them", other)
		time.Sleep(2 * time.Second)
	}
}

// machine describes the machine and the run.
func machine(o options) []string {
	model := "unknown"
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	kernel := "?"
	if out, err := exec.Command("uname", "-r").Output(); err == nil {
		kernel = strings.TrimSpace(string(out))
	}
	code := "unknown"
	if out, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output(); err == nil {
		code = "commit " + strings.TrimSpace(string(out))
		if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil {
			var dirty []string
			for _, l := range strings.Split(strings.TrimRight(string(st), "\n"), "\n") {
				if len(l) > 3 && !strings.HasPrefix(l[3:], "test/bench/") && !strings.HasPrefix(l[3:], "docs/") {
					dirty = append(dirty, l[3:])
				}
			}
			if len(dirty) > 0 {
				code += " with uncommitted changes to " + strings.Join(dirty, ", ")
			}
		}
	}
	return []string{
		fmt.Sprintf("Date: %s. Code: %s.", time.Now().UTC().Format("2006-01-02 15:04 MST"), code),
		fmt.Sprintf("Machine: %d CPUs (%s), %s/%s, Linux %s, %s", runtime.NumCPU(), model, runtime.GOOS, runtime.GOARCH, kernel, runtime.Version()),
		fmt.Sprintf("**All processes share these %d cores**: the load generator (this program, which is also benchmark 2's sink), freshet dev and the function processes (and, in benchmarks 7–10, the Kafka broker, the SQS emulator or the Pulsar broker). Every figure, baseline included, is lower than it would be with the load generator on another machine.", runtime.NumCPU()),
		fmt.Sprintf("Settings: -duration %v -warmup %v -senders %d -size %d -window %d -paced %v -requests %d -wakeups %d -rounds %d -jumps %d -slowrate %g -kafkarecords %d -kafkarate %g -sqsmessages %d -pulsarmessages %d", o.duration, o.warmup, o.senders, o.size, o.window, o.paced, o.requests, o.wakeups, o.rounds, o.jumps, o.slowRate, o.kafkaRecords, o.kafkaRate, o.sqsMessages, o.pulsarMessages),
	}
}

// report collects the results.
type report struct {
	header   []string
	sections []string
	rows     [][]string
	cpus     []string
	notes    []string
	runTime  time.Duration
}

func (r *report) section(title, text string) {
	r.sections = append(r.sections, "**"+title+".** "+text)
}

func (r *report) row(bench, metric, baseline, freshet, goal, verdict string) {
	r.rows = append(r.rows, []string{bench, metric, baseline, freshet, goal, verdict})
}

func (r *report) cpu(phase, usage string) {
	if usage != "" {
		r.cpus = append(r.cpus, phase+": "+usage)
	}
}

func (r *report) errors(phase string, e *errCount) {
	if s := e.String(); s != "" {
		r.notes = append(r.notes, phase+": "+s)
	}
}

func (r *report) note(format string, args ...any) {
	r.notes = append(r.notes, fmt.Sprintf(format, args...))
}

func (r *report) markdown() string {
	var b strings.Builder
	b.WriteString("## Freshet benchmark\n\n")
	for _, h := range r.header {
		b.WriteString(h + "\n\n")
	}
	b.WriteString(table([]string{"#", "measure", "direct baseline", "Freshet", "goal", "goal met"}, r.rows))
	b.WriteString("\n")
	for _, s := range r.sections {
		b.WriteString(s + "\n\n")
	}
	if len(r.cpus) > 0 {
		b.WriteString("CPU used during each measured window, in cores (of " + fmt.Sprint(runtime.NumCPU()) + "):\n\n")
		for _, c := range r.cpus {
			b.WriteString("- " + c + "\n")
		}
		b.WriteString("\n")
	}
	if len(r.notes) > 0 {
		b.WriteString("Notes:\n\n")
		for _, n := range r.notes {
			b.WriteString("- " + n + "\n")
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "Run time: %v.\n", r.runTime)
	return b.String()
}

// table renders a markdown table with aligned columns.
func table(head []string, rows [][]string) string {
	width := make([]int, len(head))
	for _, r := range append([][]string{head}, rows...) {
		for i, c := range r {
			width[i] = max(width[i], len([]rune(c)))
		}
	}
	var b strings.Builder
	line := func(cells []string) {
		b.WriteString("|")
		for i, c := range cells {
			b.WriteString(" " + c + strings.Repeat(" ", width[i]-len([]rune(c))) + " |")
		}
		b.WriteString("\n")
	}
	line(head)
	sep := make([]string, len(head))
	for i := range sep {
		sep[i] = strings.Repeat("-", width[i])
	}
	line(sep)
	for _, r := range rows {
		line(r)
	}
	return b.String()
}

func fmtRate(perSec float64) string {
	n := int64(perSec + 0.5)
	s := fmt.Sprint(n)
	var out []byte
	for i, c := range []byte(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, c)
	}
	return string(out) + "/s"
}

func fmtDur(d time.Duration) string {
	switch {
	case d == 0:
		return "—"
	case d < time.Millisecond:
		return fmt.Sprintf("%d µs", d.Microseconds())
	case d < 100*time.Millisecond:
		return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond))
	}
}

func fmtAdded(d time.Duration) string {
	if d == 0 {
		return "+0 µs"
	}
	if d < 0 {
		return "−" + fmtDur(-d)
	}
	return "+" + fmtDur(d)
}

func verdict(ok bool) string {
	if ok {
		return "yes"
	}
	return "**no**"
}
