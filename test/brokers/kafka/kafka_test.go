package kafka

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/freshetproj/freshet/test/internal/child"
)

// TestBroker starts a real broker and passes records both ways between
// franz-go and kcat (librdkafka), two independent client implementations.
func TestBroker(t *testing.T) {
	began := time.Now()
	inst, err := Install()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("install: Apache Kafka %s in %s (%.1f MiB) in %v",
		inst.Version, inst.Dir, float64(dirSize(t, inst.Dir))/(1<<20), time.Since(began).Round(time.Millisecond))

	began = time.Now()
	kcat := Kcat(t)
	t.Logf("kcat: %s in %v", kcat, time.Since(began).Round(time.Millisecond))

	began = time.Now()
	b := Start(t)
	t.Logf("broker: started on %s (controller %s, cluster %s) in %v",
		b.Addr, b.ControllerAddr, b.ClusterID, time.Since(began).Round(time.Millisecond))

	for line := range strings.Lines(b.Log(0)) {
		if strings.HasPrefix(line, "=== freshet:") {
			t.Log(strings.TrimSpace(line))
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	adm := b.Admin(t)

	t.Run("franz-go to kcat", func(t *testing.T) {
		const topic, n = "franz-to-kcat", 100
		createTopic(ctx, t, adm, topic, 3)

		cl := b.Client(t, kgo.DefaultProduceTopic(topic))
		recs := make([]*kgo.Record, n)
		want := make([]string, n)
		for i := range recs {
			recs[i] = &kgo.Record{Key: fmt.Appendf(nil, "k-%03d", i), Value: fmt.Appendf(nil, "v-%03d", i)}
			want[i] = fmt.Sprintf("k-%03d v-%03d", i, i)
		}
		if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Fatalf("producing %d records: %v", n, err)
		}
		partitions := map[int32]bool{}
		for _, r := range recs {
			partitions[r.Partition] = true
		}
		if len(partitions) < 2 {
			t.Errorf("100 keyed records all went to partitions %v of 3", partitions)
		}

		began := time.Now()
		out := run(ctx, t, nil, kcat, "-b", b.Addr, "-C", "-t", topic, "-o", "beginning", "-e", "-q", "-f", `%k %s\n`)
		got := strings.Split(strings.TrimSpace(out), "\n")
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Fatalf("kcat read %d records, want the %d produced:\n%s", len(got), n, out)
		}
		t.Logf("kcat consumed all %d records from %d partitions in %v", n, len(partitions), time.Since(began).Round(time.Millisecond))
	})

	t.Run("kcat to franz-go", func(t *testing.T) {
		const topic, n = "kcat-to-franz", 10
		createTopic(ctx, t, adm, topic, 3)

		var in bytes.Buffer
		want := make([]string, n)
		for i := range n {
			fmt.Fprintf(&in, "k-%d:v-%d\n", i, i)
			want[i] = fmt.Sprintf("k-%d v-%d", i, i)
		}
		run(ctx, t, &in, kcat, "-b", b.Addr, "-P", "-t", topic, "-K", ":")

		cl := b.Client(t, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
		var got []string
		for len(got) < n && ctx.Err() == nil {
			fetches := cl.PollFetches(ctx)
			fetches.EachError(func(topic string, p int32, err error) {
				if ctx.Err() == nil {
					t.Errorf("fetching %s/%d: %v", topic, p, err)
				}
			})
			fetches.EachRecord(func(r *kgo.Record) {
				got = append(got, string(r.Key)+" "+string(r.Value))
			})
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("franz-go read %q, want %q", got, want)
		}
	})

	t.Run("kill", func(t *testing.T) {
		b.Kill()
		if exited, _ := b.Exited(); !exited {
			t.Fatal("the broker is still running after Kill")
		}
		b.Kill() // a second call is harmless
	})
}

// TestStartFailure checks that a broker that cannot start is reported with
// the end of its log.
func TestStartFailure(t *testing.T) {
	inst, err := Install()
	if err != nil {
		t.Fatal(err)
	}
	java, err := child.Java("kafka")
	if err != nil {
		t.Fatal(err)
	}
	// Only the broker's JVM gets JVMArgs, so formatting succeeds and the
	// broker itself exits at once.
	_, err = start(inst, java, t.TempDir(), Options{JVMArgs: []string{"-XX:+NoSuchOptionForFreshet"}})
	if err == nil {
		t.Fatal("a broker with an unknown JVM option started")
	}
	msg := err.Error()
	if !strings.Contains(msg, "did not start") || !strings.Contains(msg, "the broker exited") ||
		!strings.Contains(msg, "--- last lines of") || !strings.Contains(msg, "NoSuchOptionForFreshet") {
		t.Fatalf("the error does not explain the failure with the log's tail:\n%s", msg)
	}
	t.Logf("reported as: %.300s...", msg)
}

func TestOptionsMayNotMoveListeners(t *testing.T) {
	inst := &Installation{Dir: t.TempDir(), Version: "0"}
	_, err := start(inst, "java", t.TempDir(), Options{Properties: map[string]string{"listeners": "PLAINTEXT://:9092"}})
	if err == nil || !strings.Contains(err.Error(), "may not set listeners") {
		t.Fatalf("start with a listeners property: %v, want a refusal", err)
	}
}

func TestClusterID(t *testing.T) {
	a, b := newClusterID(), newClusterID()
	if len(a) != 22 || a == b || strings.ContainsAny(a, "+/=") {
		t.Fatalf("cluster ids %q, %q: want distinct 22-character URL-safe base64", a, b)
	}
}

func createTopic(ctx context.Context, t *testing.T, adm *kadm.Client, topic string, partitions int32) {
	t.Helper()
	resp, err := adm.CreateTopic(ctx, partitions, 1, nil, topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		t.Fatalf("creating topic %s: %v", topic, err)
	}
	// The broker's metadata cache learns of a new topic from the KRaft
	// controller a moment after CreateTopic answers: a describe right
	// away may see it without partitions (seen under a full test run).
	deadline := time.Now().Add(30 * time.Second)
	for {
		details, err := adm.ListTopics(ctx, topic)
		if err != nil {
			t.Fatalf("describing topic %s: %v", topic, err)
		}
		got := len(details[topic].Partitions)
		if got == int(partitions) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("topic %s has %d partitions after 30s, want %d", topic, got, partitions)
		}
		time.Sleep(50 * time.Millisecond) // poll interval
	}
}

// run runs a command and returns its standard output, failing t with its
// standard error if it fails.
func run(ctx context.Context, t *testing.T, stdin *bytes.Buffer, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	if stdin != nil {
		cmd.Stdin = stdin
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

func dirSize(t *testing.T, dir string) int64 {
	var size int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		if err == nil {
			size += fi.Size()
		}
		return err
	})
	if err != nil {
		t.Errorf("sizing %s: %v", dir, err)
	}
	return size
}
