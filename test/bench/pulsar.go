package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	pulsarlog "github.com/apache/pulsar-client-go/pulsar/log"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
	pulsarsource "github.com/freshetproj/freshet/pkg/source/pulsar"
	pulsarbroker "github.com/freshetproj/freshet/test/brokers/pulsar"
)

// pulsarPartitions is the partition count of benchmark 10's topic.
const pulsarPartitions = 4

// The topic of benchmark 10 and its subscriptions: one per pass, so that
// each pass reads the whole topic.
const (
	pulsarTopic   = "bench10"
	pulsarRawSub  = "bench10-raw"
	pulsarPumpSub = "bench10-pump"
)

// pulsarWarmups is the number of unmeasured rounds (each reader reads the
// whole topic once) before the measured one.
const pulsarWarmups = 2

// benchPulsar is benchmark 10: a real Pulsar broker (standalone) and a
// partitioned topic pre-filled with N plain 1 KiB messages, read whole by a
// bare pulsar-client-go consumer that acks each message (baseline), then by
// the Pulsar source through a router.Pump into an embedded JetStream
// buffer, in this process, as the data plane runs a source vertex. Each
// reader first reads the topic twice unmeasured: the broker's JVM is cold
// after its start (in development runs the bare consumer's first pass ran
// at 40–65% of its third and its second at 65–90%; the source's first at
// 60–80% of its third).
func benchPulsar(o options, _ bins, dir string, rep *report) error {
	n := o.pulsarMessages
	logf("pulsar: starting a broker (hack/pulsar, standalone)")
	started := time.Now()
	br, err := pulsarbroker.Launch(filepath.Join(dir, "pulsar"), pulsarbroker.Options{})
	if err != nil {
		return err
	}
	defer br.Kill()
	logf("pulsar: Pulsar %s, pid %d, %s (web %s), ready after %v", br.Version, br.Pid(), br.ServiceURL, br.WebURL, time.Since(started).Round(time.Millisecond))
	rep.section("10. Pulsar source into the buffer",
		fmt.Sprintf("A real broker (Apache Pulsar %s standalone from hack/pulsar: broker, one BookKeeper bookie and the metadata store in one JVM, with the settings of test/brokers/pulsar: -Xmx512m, serial GC, a 32 MB managed-ledger cache) holds a topic of %d partitions pre-filled with %d plain (not CloudEvents) messages of %d B (JSON with random base64 padding, no compression), produced with SendAsync and the client's default batching (10 ms, at most 1,000 messages or 128 KiB per batch). One Shared subscription per pass, all made before the fill, so each pass reads the whole topic. Baseline: a bare pulsar-client-go consumer (Shared, initial position Earliest, the client's defaults) receiving from Chan() and acking each message, as the source also does. Freshet: pkg/source/pulsar.Open (Shared, earliest) + router.Pump (defaults: batches of up to 512, 4 writers) writing into an embedded JetStream buffer (jetstream.Open with a DataDir), all in the benchmark process, as the data plane runs a source vertex; GOGC 400 as freshet dev sets it. Before the measured round, %d unmeasured rounds in which each reader reads the whole topic (on subscriptions of their own): the broker's JVM is cold after its start. Both rates run from the first message received to the last (the consumer's last receive; the Pump's last buffer write acknowledged); the subscription before them is reported apart.",
			br.Version, pulsarPartitions, n, o.size, pulsarWarmups))
	path := "/admin/v2/persistent/public/default/" + pulsarTopic
	if err := br.AdminPut(path+"/partitions", pulsarPartitions); err != nil {
		return fmt.Errorf("create topic: %w", err)
	}
	// The subscriptions start at the topic's (empty) end, before the fill:
	// the broker keeps every message for each.
	subs := []string{pulsarRawSub, pulsarPumpSub}
	for i := range pulsarWarmups {
		subs = append(subs, fmt.Sprintf("%s-warmup%d", pulsarRawSub, i+1), fmt.Sprintf("%s-warmup%d", pulsarPumpSub, i+1))
	}
	for _, sub := range subs {
		if err := br.AdminPut(path+"/subscription/"+sub, nil); err != nil {
			return fmt.Errorf("create subscription %s: %w", sub, err)
		}
	}
	restore := freshetGC()
	defer restore()
	topic := "persistent://public/default/" + pulsarTopic

	// Pre-fill.
	logf("pulsar: producing %d messages of %d B into %s", n, o.size, topic)
	fill, err := pulsarFill(br.ServiceURL, topic, randomPayload(o.size), n)
	if err != nil {
		return err
	}
	parts, entries, err := pulsarTopicCounts(br, path)
	if err != nil {
		return err
	}
	if err := checkFilled(parts, n, "messages"); err != nil {
		return err
	}
	rep.note("10: pre-filling the topic took %v (%s, this program's producer: SendAsync, default batching); its %d partitions hold %d–%d messages in %d batches (entries) in all, %.0f messages per batch.", fill.Round(time.Millisecond), fmtRate(float64(n)/fill.Seconds()), len(parts), slices.Min(parts), slices.Max(parts), entries, float64(n)/float64(max(entries, 1)))

	watch := func(this string) *cpuWatch {
		w := &cpuWatch{}
		w.add(this, self)
		w.add("Pulsar broker", func() []int { return []int{br.Pid()} })
		return w
	}
	const rawName = "this program (pulsar-client-go consumer)"
	const pumpName = "this program (Pulsar source, Pump, embedded JetStream)"

	// Warm-up: each reader reads the topic, unmeasured.
	var warm []string
	for i := range pulsarWarmups {
		settle(o.settle)
		logf("pulsar: warm-up %d of %d, a pulsar-client-go consumer reading the topic", i+1, pulsarWarmups)
		wraw, err := pulsarRawConsume(br.ServiceURL, topic, fmt.Sprintf("%s-warmup%d", pulsarRawSub, i+1), n, watch(rawName))
		if err != nil {
			return fmt.Errorf("warm-up: %w", err)
		}
		settle(o.settle)
		logf("pulsar: warm-up %d of %d, the Pulsar source and the Pump", i+1, pulsarWarmups)
		wpump, err := pulsarPump(br, topic, fmt.Sprintf("%s-warmup%d", pulsarPumpSub, i+1), dir, fmt.Sprintf("pulsar-warmup%d", i+1), n, watch(pumpName))
		if err != nil {
			return fmt.Errorf("warm-up: %w", err)
		}
		warm = append(warm, fmt.Sprintf("round %d: bare consumer %s (broker %s, other %s), source + Pump %s (broker %s, other %s)", i+1,
			fmtRate(wraw.rate), cpuOf(wraw.cpu, "Pulsar broker"), cpuOf(wraw.cpu, "everything else on the machine"),
			fmtRate(wpump.rate(int64(n))), cpuOf(wpump.cpu, "Pulsar broker"), cpuOf(wpump.cpu, "everything else on the machine")))
	}
	rep.note("10: unmeasured warm-up rounds (not in the table) after the broker's start: %s.", strings.Join(warm, "; "))
	settle(o.settle)

	// Baseline: a bare consumer acking each message.
	logf("pulsar: baseline, a pulsar-client-go consumer reading and acking the %d messages", n)
	raw, err := pulsarRawConsume(br.ServiceURL, topic, pulsarRawSub, n, watch(rawName))
	if err != nil {
		return err
	}
	rep.cpu("10 baseline (pulsar-client-go consumer, ack each)", raw.cpu)
	settle(o.settle)

	// Freshet: the Pulsar source and the Pump into JetStream.
	logf("pulsar: the Pulsar source and the Pump into an embedded JetStream buffer")
	pr, err := pulsarPump(br, topic, pulsarPumpSub, dir, "pulsar", n, watch(pumpName))
	if err != nil {
		return err
	}
	rep.cpu("10 freshet (Pulsar source + Pump → JetStream)", pr.cpu)
	backlog, err := pulsarBacklog(br, path, pulsarPumpSub)
	if err != nil {
		return err
	}
	if pr.pending == int64(n) && backlog == 0 {
		rep.note("Check (10): the buffer holds %d events = the %d messages of the topic, and the source's subscription has no backlog after its Close (the Pump wrote %d; repeats are dropped by the dedup id).", pr.pending, n, pr.written)
	} else {
		rep.note("CHECK FAILED (10): the buffer holds %d events, the topic %d messages; the source's subscription has a backlog of %d entries after its Close (the Pump wrote %d).", pr.pending, n, backlog, pr.written)
	}
	rep.note("10: subscribe + first message (client created → first message): baseline %v, Pulsar source %v (Open → first Read with messages).", raw.join.Round(time.Millisecond), pr.join.Round(time.Millisecond))
	rep.note("10: the source's Read returned %d messages in %d calls, %.1f per Read (the Pump asks for up to 512).", pr.readMsgs, pr.reads, float64(pr.readMsgs)/float64(max(pr.reads, 1)))

	rate := pr.rate(int64(n))
	rep.row("10", fmt.Sprintf("Pulsar → buffer, %d messages of %d B, %d partitions (messages/s)", n, o.size, pulsarPartitions), fmtRate(raw.rate), fmtRate(rate), "", "")
	rep.row("10", "time to read the whole topic (first message → last)", fmtSecs(raw.elapsed), fmtSecs(pr.elapsed), "", "")
	return nil
}

// pulsarPump drains the topic on subscription sub with the Pulsar source
// and a router.Pump into a fresh embedded JetStream buffer called name.
func pulsarPump(br *pulsarbroker.Broker, topic, sub, dir, name string, n int, cpu *cpuWatch) (pumpResult, error) {
	opened := time.Now()
	src, err := pulsarsource.Open(context.Background(), &v1alpha1.PulsarSource{
		ServiceURL:       br.ServiceURL,
		AdminURL:         br.WebURL,
		Topics:           []string{topic},
		SubscriptionType: v1alpha1.PulsarShared,
		InitialPosition:  v1alpha1.KafkaEarliest,
		EventType:        "dev.freshet.bench",
	}, sub)
	if err != nil {
		return pumpResult{}, err
	}
	pr, err := runPump(dir, name, src, opened, int64(n), 5*time.Minute, cpu)
	if err == nil {
		err = pr.err
	}
	return pr, err
}

// cpuOf picks one group's figure out of a cpuWatch report.
func cpuOf(report, group string) string {
	for _, part := range strings.Split(report, ", ") {
		if v, ok := strings.CutPrefix(part, group+" "); ok {
			return v + " cores"
		}
	}
	return "?"
}

// pulsarClient is a client for the benchmark's own producer and consumer:
// pulsar-client-go logs every connection at info, so only warnings.
func pulsarClient(url string) (pulsar.Client, error) {
	return pulsar.NewClient(pulsar.ClientOptions{
		URL:              url,
		OperationTimeout: 30 * time.Second,
		Logger: pulsarlog.NewLoggerWithSlog(slog.New(slog.NewTextHandler(os.Stderr,
			&slog.HandlerOptions{Level: slog.LevelWarn}))),
	})
}

// pulsarFill produces n messages of value to topic with SendAsync and the
// client's default batching, and waits for every acknowledgement.
func pulsarFill(url, topic string, value []byte, n int) (time.Duration, error) {
	cl, err := pulsarClient(url)
	if err != nil {
		return 0, err
	}
	defer cl.Close()
	prod, err := cl.CreateProducer(pulsar.ProducerOptions{Topic: topic, MaxPendingMessages: 10000})
	if err != nil {
		return 0, fmt.Errorf("producer for %s: %w", topic, err)
	}
	defer prod.Close()
	var wg sync.WaitGroup
	var failed atomic.Int64
	var first atomic.Value
	began := time.Now()
	for range n {
		wg.Add(1)
		prod.SendAsync(context.Background(), &pulsar.ProducerMessage{Payload: value}, func(_ pulsar.MessageID, _ *pulsar.ProducerMessage, err error) {
			defer wg.Done()
			if err != nil && failed.Add(1) == 1 {
				first.Store(err)
			}
		})
	}
	if err := prod.FlushWithCtx(context.Background()); err != nil {
		return 0, err
	}
	wg.Wait()
	took := time.Since(began)
	if k := failed.Load(); k > 0 {
		return 0, fmt.Errorf("%d messages not produced: %v", k, first.Load())
	}
	return took, nil
}

// pulsarPartitionStats is the part of a partitioned topic's stats the
// benchmark reads.
type pulsarPartitionStats struct {
	Partitions map[string]struct {
		MsgInCounter  int64 `json:"msgInCounter"`
		Subscriptions map[string]struct {
			MsgBacklog int64 `json:"msgBacklog"`
		} `json:"subscriptions"`
	} `json:"partitions"`
}

// pulsarTopicCounts returns the messages published to each partition of
// the topic at path and the entries they are stored in (a batch the
// producer sent is one entry).
func pulsarTopicCounts(br *pulsarbroker.Broker, path string) (parts []int64, entries int64, err error) {
	var st pulsarPartitionStats
	if err := br.AdminGet(path+"/partitioned-stats?perPartition=true", &st); err != nil {
		return nil, 0, err
	}
	for p := range st.Partitions {
		parts = append(parts, st.Partitions[p].MsgInCounter)
		var internal struct {
			NumberOfEntries int64 `json:"numberOfEntries"`
		}
		if err := br.AdminGet("/admin/v2/persistent/public/default/"+shortName(p)+"/internalStats", &internal); err != nil {
			return nil, 0, err
		}
		entries += internal.NumberOfEntries
	}
	return parts, entries, nil
}

// shortName is the local name of persistent://tenant/namespace/name.
func shortName(topic string) string { return topic[strings.LastIndexByte(topic, '/')+1:] }

// pulsarBacklog is sub's backlog (entries not acked) over the partitions
// of the topic at path.
func pulsarBacklog(br *pulsarbroker.Broker, path, sub string) (int64, error) {
	var st pulsarPartitionStats
	if err := br.AdminGet(path+"/partitioned-stats?perPartition=true", &st); err != nil {
		return 0, err
	}
	var n int64
	for _, p := range st.Partitions {
		n += p.Subscriptions[sub].MsgBacklog
	}
	return n, nil
}

// pulsarRawConsume reads n messages of topic on subscription sub (Shared,
// Earliest), acking each, doing nothing else with them.
func pulsarRawConsume(url, topic, sub string, n int, cpu *cpuWatch) (rawResult, error) {
	var r rawResult
	began := time.Now()
	cl, err := pulsarClient(url)
	if err != nil {
		return r, err
	}
	defer cl.Close()
	cons, err := cl.Subscribe(pulsar.ConsumerOptions{
		Topic:                       topic,
		SubscriptionName:            sub,
		Type:                        pulsar.Shared,
		SubscriptionInitialPosition: pulsar.SubscriptionPositionEarliest,
	})
	if err != nil {
		return r, fmt.Errorf("subscribe: %w", err)
	}
	defer cons.Close()
	timeout := time.NewTimer(5 * time.Minute)
	defer timeout.Stop()
	var first time.Time
	for got := 0; got < n; got++ {
		select {
		case cm := <-cons.Chan():
			if err := cons.Ack(cm.Message); err != nil {
				return r, fmt.Errorf("ack: %w", err)
			}
		case <-timeout.C:
			return r, fmt.Errorf("the consumer read %d of %d messages in 5 minutes", got, n)
		}
		if got == 0 {
			first = time.Now()
			cpu.begin()
			r.join = first.Sub(began)
		}
	}
	r.elapsed = time.Since(first)
	r.cpu = cpu.end()
	// The first message was there before the clock started.
	r.rate = float64(n-1) / r.elapsed.Seconds()
	return r, nil
}
