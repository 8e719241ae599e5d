package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
	kafkasource "github.com/freshetproj/freshet/pkg/source/kafka"
	kafkabroker "github.com/freshetproj/freshet/test/brokers/kafka"
)

// kafkaPartitions is the partition count of every topic the benchmark makes.
const kafkaPartitions = 6

// benchKafka starts a real broker and runs benchmarks 7 (Kafka source into
// the buffer) and 8 (Kafka → function → Kafka under freshet dev) on it.
func benchKafka(o options, b bins, dir string, rep *report) error {
	logf("kafka: starting a broker (hack/kafka)")
	br, err := kafkabroker.Launch(filepath.Join(dir, "kafka"), kafkabroker.Options{})
	if err != nil {
		return err
	}
	defer br.Kill()
	if err := benchKafkaBuffer(o, br, dir, rep); err != nil {
		return err
	}
	settle(o.settle)
	return benchKafkaPipeline(o, b, br, dir, rep)
}

func kafkaAdmin(addr string) (*kgo.Client, *kadm.Client, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		return nil, nil, err
	}
	return cl, kadm.NewClient(cl), nil
}

func createTopics(addr string, topics ...string) error {
	cl, adm, err := kafkaAdmin(addr)
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	resp, err := adm.CreateTopics(ctx, kafkaPartitions, 1, nil, topics...)
	if err != nil {
		return err
	}
	return resp.Error()
}

// endOffsets returns the records in each partition of topic (its end
// offsets: nothing is deleted here).
func endOffsets(addr, topic string) ([]int64, error) {
	cl, adm, err := kafkaAdmin(addr)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	lo, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return nil, err
	}
	var out []int64
	lo.Each(func(o kadm.ListedOffset) { out = append(out, o.Offset) })
	return out, lo.Error()
}

// checkFilled is an error unless the partitions of a pre-filled topic
// hold n records (or messages: unit) in all.
func checkFilled(parts []int64, n int, unit string) error {
	var total int64
	for _, p := range parts {
		total += p
	}
	if total != int64(n) {
		return fmt.Errorf("the topic holds %d %s, want %d", total, unit, n)
	}
	return nil
}

// inputProducer is the benchmark's own producer: no linger (nothing waits
// to fill a batch) and no compression (the records are stored as the
// 1 KiB they are).
func inputProducer(addr, topic string) (*kgo.Client, error) {
	return kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic(topic),
		kgo.ProducerLinger(0), kgo.ProducerBatchCompression(kgo.NoCompression()))
}

// produceAll produces n records made by rec(i) as fast as the client
// takes them, and waits for every acknowledgement.
func produceAll(cl *kgo.Client, n int, rec func(i int) *kgo.Record) error {
	var wg sync.WaitGroup
	var failed atomic.Int64
	var first atomic.Value
	ctx := context.Background()
	for i := range n {
		wg.Add(1)
		cl.Produce(ctx, rec(i), func(_ *kgo.Record, err error) {
			defer wg.Done()
			if err != nil && failed.Add(1) == 1 {
				first.Store(err)
			}
		})
	}
	wg.Wait()
	if n := failed.Load(); n > 0 {
		return fmt.Errorf("%d records not produced: %v", n, first.Load())
	}
	return nil
}

// benchKafkaBuffer is benchmark 7: a topic of 6 partitions pre-filled with
// N plain 1 KiB records, read whole by a bare franz-go consumer group
// (baseline), then by the Kafka source through a router.Pump into an
// embedded JetStream buffer, in this process, as the data plane runs it.
func benchKafkaBuffer(o options, br *kafkabroker.Broker, dir string, rep *report) error {
	n := o.kafkaRecords
	const topic = "bench7"
	rep.section("7. Kafka source into the buffer",
		fmt.Sprintf("A real broker (Kafka from hack/kafka, one KRaft node, the JVM settings of test/brokers/kafka) holds a topic of %d partitions pre-filled with %d plain records of %d B (JSON with random base64 padding, produced without compression). Baseline: a bare franz-go consumer group polling the whole topic (PollFetches, nothing done with the records). Freshet: pkg/source/kafka.Open + router.Pump (defaults: batches of 512, 4 writers) writing into an embedded JetStream buffer (jetstream.Open with a DataDir), all in the benchmark process, as the data plane runs a source vertex; GOGC 400 as freshet dev sets it. Both rates run from the first records received to the last (the consumer's last poll; the Pump's last buffer write acknowledged); the group join before them is reported apart.", kafkaPartitions, n, o.size))
	if err := createTopics(br.Addr, topic); err != nil {
		return fmt.Errorf("create topic: %w", err)
	}
	restore := freshetGC()
	defer restore()

	// Pre-fill.
	logf("kafka: producing %d records of %d B into %s", n, o.size, topic)
	// Batched (franz-go's default 10 ms linger) to fill the topic quickly.
	prod, err := kgo.NewClient(kgo.SeedBrokers(br.Addr), kgo.DefaultProduceTopic(topic), kgo.ProducerBatchCompression(kgo.NoCompression()))
	if err != nil {
		return err
	}
	value := randomPayload(o.size)
	began := time.Now()
	err = produceAll(prod, n, func(int) *kgo.Record { return &kgo.Record{Value: value} })
	prod.Close()
	if err != nil {
		return err
	}
	fill := time.Since(began)
	parts, err := endOffsets(br.Addr, topic)
	if err != nil {
		return err
	}
	if err := checkFilled(parts, n, "records"); err != nil {
		return err
	}
	rep.note("7: pre-filling the topic took %v (%s, this program's producer); its %d partitions hold %d–%d records.", fill.Round(time.Millisecond), fmtRate(float64(n)/fill.Seconds()), len(parts), slices.Min(parts), slices.Max(parts))
	settle(o.settle)

	// Baseline: a bare consumer group.
	cpu := &cpuWatch{}
	cpu.add("this program (franz-go consumer)", self)
	cpu.add("Kafka broker", func() []int { return []int{br.Pid()} })
	logf("kafka: baseline, a franz-go consumer group reading the %d records", n)
	raw, err := rawConsume(br.Addr, topic, n, cpu)
	if err != nil {
		return err
	}
	rep.cpu("7 baseline (franz-go consumer group)", raw.cpu)

	// Freshet: the Kafka source and the Pump into JetStream.
	logf("kafka: the Kafka source and the Pump into an embedded JetStream buffer")
	opened := time.Now()
	src, err := kafkasource.Open(context.Background(), &v1alpha1.KafkaSource{Brokers: []string{br.Addr}, Topics: []string{topic}}, "bench7-pump")
	if err != nil {
		return err
	}
	pcpu := &cpuWatch{}
	pcpu.add("this program (Kafka source, Pump, embedded JetStream)", self)
	pcpu.add("Kafka broker", func() []int { return []int{br.Pid()} })
	pr, err := runPump(dir, "kafka", src, opened, int64(n), 5*time.Minute, pcpu)
	if err != nil {
		return err
	}
	if pr.err != nil {
		return pr.err
	}
	rep.cpu("7 freshet (Kafka source + Pump → JetStream)", pr.cpu)
	switch {
	case pr.pending == int64(n):
		rep.note("Check (7): the buffer holds %d events = the %d records of the topic (the Pump wrote %d; repeats are dropped by the dedup id).", pr.pending, n, pr.written)
	default:
		rep.note("CHECK FAILED (7): the buffer holds %d events, the topic %d records (the Pump wrote %d).", pr.pending, n, pr.written)
	}
	rep.note("7: group join + first fetch (client created → first records): baseline %v, Kafka source %v.", raw.join.Round(time.Millisecond), pr.join.Round(time.Millisecond))

	rate := pr.rate(int64(n))
	rep.row("7", fmt.Sprintf("Kafka → buffer, %d records of %d B, %d partitions (records/s)", n, o.size, kafkaPartitions), fmtRate(raw.rate), fmtRate(rate), "≥ 100,000/s", verdict(rate >= 100000))
	rep.row("7", "time to read the whole topic (first records → last)", fmtSecs(raw.elapsed), fmtSecs(pr.elapsed), "", "")
	return nil
}

func fmtSecs(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

// rawResult is the bare consumer's run.
type rawResult struct {
	join    time.Duration
	elapsed time.Duration
	rate    float64
	cpu     string
}

// rawConsume reads n records of topic with a new consumer group, doing
// nothing with them.
func rawConsume(addr, topic string, n int, cpu *cpuWatch) (rawResult, error) {
	var r rawResult
	began := time.Now()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumerGroup("bench7-raw"), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(kafkasource.FetchMaxWait))
	if err != nil {
		return r, err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var first time.Time
	got, firstN := 0, 0
	for got < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return r, fmt.Errorf("the consumer read %d of %d records in 5 minutes", got, n)
		}
		var ferr error
		fs.EachError(func(_ string, _ int32, err error) { ferr = err })
		if ferr != nil {
			return r, ferr
		}
		k := fs.NumRecords()
		if k == 0 {
			continue
		}
		if first.IsZero() {
			first = time.Now()
			cpu.begin()
			firstN = k
			r.join = first.Sub(began)
		}
		got += k
	}
	r.elapsed = time.Since(first)
	r.cpu = cpu.end()
	// The first poll's records were there before the clock started.
	r.rate = float64(got-firstN) / r.elapsed.Seconds()
	return r, nil
}

// benchsentHeader carries a record's send time (Unix nanoseconds) as the
// benchsent CloudEvents extension, in binary mode.
const benchsentHeader = kafkasource.HeaderPrefix + sentExt

// ceRecord is a binary-mode CloudEvent record with id and send time.
func ceRecord(value []byte, id string, sent time.Time) *kgo.Record {
	return &kgo.Record{Value: value, Headers: []kgo.RecordHeader{
		{Key: "ce_specversion", Value: []byte("1.0")},
		{Key: "ce_id", Value: []byte(id)},
		{Key: "ce_source", Value: []byte("/freshet/bench")},
		{Key: "ce_type", Value: []byte("dev.freshet.bench")},
		{Key: kafkasource.ContentTypeHeader, Value: []byte("application/json")},
		{Key: benchsentHeader, Value: strconv.AppendInt(nil, sent.UnixNano(), 10)},
	}}
}

// outTopic reads a topic from its start (no group) and records each
// event's first arrival (by ce_id) and, for events sent inside the
// latency window, send → arrival.
type outTopic struct {
	mu       sync.Mutex
	seen     map[string]struct{}
	dups     int
	arrived  int
	last     time.Time // the last first arrival
	latFrom  time.Time
	latTo    time.Time
	lat      []time.Duration
	bad      int
	cancel   context.CancelFunc
	finished chan struct{}
}

func readTopic(addr, topic string) (*outTopic, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(time.Second))
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	t := &outTopic{seen: map[string]struct{}{}, cancel: cancel, finished: make(chan struct{})}
	go func() {
		defer close(t.finished)
		defer cl.Close()
		for ctx.Err() == nil {
			fs := cl.PollFetches(ctx)
			now := time.Now()
			t.mu.Lock()
			fs.EachRecord(func(r *kgo.Record) { t.record(r, now) })
			t.mu.Unlock()
		}
	}()
	return t, nil
}

// record notes one record; callers hold t.mu.
func (t *outTopic) record(r *kgo.Record, now time.Time) {
	var id string
	var sentNs int64 = -1
	for _, h := range r.Headers {
		switch h.Key {
		case "ce_id":
			id = string(h.Value)
		case benchsentHeader:
			if v, err := strconv.ParseInt(string(h.Value), 10, 64); err == nil {
				sentNs = v
			}
		}
	}
	if id == "" || sentNs < 0 {
		t.bad++
		return
	}
	if _, dup := t.seen[id]; dup {
		t.dups++
		return
	}
	t.seen[id] = struct{}{}
	t.arrived++
	t.last = now
	if sent := time.Unix(0, sentNs); !sent.Before(t.latFrom) && sent.Before(t.latTo) {
		t.lat = append(t.lat, now.Sub(sent))
	}
}

func (t *outTopic) close() { t.cancel(); <-t.finished }

// latWindow keeps the latencies of events sent in [from, to) from now on.
func (t *outTopic) latWindow(from, to time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.latFrom, t.latTo, t.lat = from, to, nil
}

func (t *outTopic) latencies() []time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.lat)
}

// waitFor waits until n distinct events have arrived; it returns when the
// n-th arrived, or an error after timeout.
func (t *outTopic) waitFor(n int, timeout time.Duration) (time.Time, error) {
	deadline := time.Now().Add(timeout)
	for {
		t.mu.Lock()
		arrived, last := t.arrived, t.last
		t.mu.Unlock()
		if arrived >= n {
			return last, nil
		}
		if time.Now().After(deadline) {
			return time.Time{}, fmt.Errorf("%d of %d events reached the out topic within %v", arrived, n, timeout)
		}
		time.Sleep(5 * time.Millisecond) // poll interval
	}
}

func (t *outTopic) counts() (arrived, dups, bad int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.arrived, t.dups, t.bad
}

// e2eResult is one target's runs in benchmark 8.
type e2eResult struct {
	events  int           // the saturation burst
	elapsed time.Duration // its first produce → its last arrival
	rate    float64
	satCPU  string
	paced   stats
	pcpu    string
	late    int
	arrived int // distinct events at the end, every phase
	sent    int
	dups    int
	bad     int
}

// runE2E drives one target, kafka topic in → (something) → topic out:
// a warm-up of 2,000 events that must all arrive (the consumer group has
// joined, the function is warm), timed calibration bursts, then a burst
// sized to last about o.duration at the calibrated rate (throughput:
// first produce → last arrival), then a fixed rate (rateFor(throughput))
// for o.paced, whose latencies count from each record's scheduled send.
func runE2E(o options, addr, in, out, prefix string, cpu *cpuWatch, rateFor func(float64) float64) (e2eResult, error) {
	var r e2eResult
	reader, err := readTopic(addr, out)
	if err != nil {
		return r, err
	}
	defer reader.close()
	// Bursts are produced in batches (franz-go's 10 ms linger), so that the
	// producer is not what limits them; the fixed-rate run sends each
	// record as it is scheduled.
	bprod, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic(in), kgo.ProducerBatchCompression(kgo.NoCompression()))
	if err != nil {
		return r, err
	}
	defer bprod.Close()
	prod, err := inputProducer(addr, in)
	if err != nil {
		return r, err
	}
	defer prod.Close()
	value := randomPayload(o.size)
	burst := func(tag string, n int) (time.Time, error) {
		began := time.Now()
		err := produceAll(bprod, n, func(i int) *kgo.Record {
			return ceRecord(value, prefix+tag+strconv.Itoa(i), time.Now())
		})
		r.sent += n
		return began, err
	}
	// Warm-up, and the fixed-rate producer's connection.
	if _, err := burst("w", 2000); err != nil {
		return r, err
	}
	if err := produceAll(prod, 10, func(i int) *kgo.Record {
		return ceRecord(value, prefix+"x"+strconv.Itoa(i), time.Now())
	}); err != nil {
		return r, err
	}
	r.sent += 10
	if _, err := reader.waitFor(r.sent, 2*time.Minute); err != nil {
		return r, fmt.Errorf("warm-up: %w", err)
	}
	// Calibration: 5,000 events, then larger bursts until one lasts 1 s
	// (a short burst is mostly fixed latency and underestimates the rate).
	var est float64
	for n, round := 5000, 0; ; round++ {
		c0, err := burst("c"+strconv.Itoa(round)+"-", n)
		if err != nil {
			return r, err
		}
		last, err := reader.waitFor(r.sent, 2*time.Minute)
		if err != nil {
			return r, fmt.Errorf("calibration: %w", err)
		}
		took := last.Sub(c0)
		est = float64(n) / took.Seconds()
		if took >= time.Second || n >= 200_000 {
			break
		}
		n = min(max(2*n, int(est*1.5)), 200_000)
	}
	r.events = int(math.Min(math.Max(est*o.duration.Seconds(), 5000), 300_000))
	logf("kafka: %s: calibrated at %s, producing %d events as fast as possible", prefix, fmtRate(est), r.events)
	// Saturation: a burst of r.events.
	cpu.begin()
	s0, err := burst("s", r.events)
	if err != nil {
		return r, err
	}
	last, err := reader.waitFor(r.sent, 5*time.Minute)
	r.satCPU = cpu.end()
	if err != nil {
		return r, fmt.Errorf("saturation: %w", err)
	}
	r.elapsed = last.Sub(s0)
	r.rate = float64(r.events) / r.elapsed.Seconds()
	// Fixed rate.
	rate := rateFor(r.rate)
	logf("kafka: %s: %.0f events/s for %v", prefix, rate, o.paced)
	start := time.Now()
	reader.latWindow(start, start.Add(o.paced+time.Second))
	var perr atomic.Int64
	var psent atomic.Int64
	cpu.begin()
	r.late = paced(4, rate, o.paced, func(_, seq int, at time.Time) {
		psent.Add(1)
		prod.Produce(context.Background(), ceRecord(value, prefix+"p"+strconv.Itoa(seq), at), func(_ *kgo.Record, err error) {
			if err != nil {
				perr.Add(1)
			}
		})
	})
	if err := prod.Flush(context.Background()); err != nil {
		return r, err
	}
	r.sent += int(psent.Load())
	if n := perr.Load(); n > 0 {
		return r, fmt.Errorf("fixed rate: %d records not produced", n)
	}
	_, err = reader.waitFor(r.sent, 2*time.Minute)
	r.pcpu = cpu.end()
	if err != nil {
		return r, fmt.Errorf("fixed rate: %w", err)
	}
	r.paced = summarize(reader.latencies())
	r.arrived, r.dups, r.bad = reader.counts()
	return r, nil
}

// kafkaPipelineYAML is kafka in → noop function → kafka out.
func kafkaPipelineYAML(addr, in, out, fn string) string {
	return fmt.Sprintf(`apiVersion: freshet.dev/v1alpha1
kind: Pipeline
metadata:
  name: kafka
spec:
  vertices:
    - name: in
      source: {kafka: {brokers: [%q], topics: [%s]}}
    - name: fn
      function:
        spec:
          container: {command: [%q]}
          scale: {min: 1, max: 1, containerConcurrency: 64}
    - name: out
      sink: {kafka: {brokers: [%q], topic: %s}}
  edges:
    - {from: in, to: fn}
    - {from: fn, to: out}
`, addr, in, fn, addr, out)
}

// benchKafkaPipeline is benchmark 8: Kafka → no-op function → Kafka under
// freshet dev, against a direct franz-go consume → produce loop.
func benchKafkaPipeline(o options, b bins, br *kafkabroker.Broker, dir string, rep *report) error {
	rep.section("8. Pipeline Kafka → fn → Kafka (at-least-once)",
		fmt.Sprintf("Topics of %d partitions on the same broker. Freshet: freshet dev runs `kafka source → noopfn (one replica, containerConcurrency 64) → kafka sink`. Baseline: a consume → produce loop in this program (franz-go consumer group; each polled record produced to the out topic with the franz-go defaults the Kafka sink also uses — idempotent, acks=all, 10 ms linger; its offset committed, every 500 ms, once the produce is acknowledged), no function call. This program produces binary-mode CloudEvents of %d B (JSON with random, incompressible padding) carrying their send time in the ce_%s header, and reads the out topic (no group); latency is send → first arrival there. Per target: a 2,000-event warm-up, timed calibration bursts (5,000 events, then larger until one lasts 1 s), then a burst, produced in batches (10 ms linger), sized to last ~%v at the calibrated rate (throughput = burst / (first produce → last arrival)), then a fixed rate of half Freshet's throughput for %v, latency counted from each record's scheduled send time.", kafkaPartitions, o.size, sentExt, o.duration, o.paced))
	if err := createTopics(br.Addr, "fin", "fout", "bin", "bout"); err != nil {
		return fmt.Errorf("create topics: %w", err)
	}
	path, err := writeFile(dir, "kafka.yaml", kafkaPipelineYAML(br.Addr, "fin", "fout", b.noopfn))
	if err != nil {
		return err
	}
	f, err := startFreshet(b, dir, "kafka", path)
	if err != nil {
		return err
	}
	defer f.kill()
	fcpu := &cpuWatch{}
	fcpu.add("freshet", func() []int { return []int{f.pid()} })
	fcpu.add("function", func() []int { return children(f.pid()) })
	fcpu.add("this program (producer, out reader)", self)
	fcpu.add("Kafka broker", func() []int { return []int{br.Pid()} })
	var paceRate float64
	fr, err := runE2E(o, br.Addr, "fin", "fout", "f", fcpu, func(sat float64) float64 {
		paceRate = o.kafkaRate
		if paceRate <= 0 {
			paceRate = math.Max(100, math.Round(sat/2/100)*100)
		}
		return paceRate
	})
	if err != nil {
		return fmt.Errorf("freshet: %w", err)
	}
	if err := f.stop(40 * time.Second); err != nil {
		rep.note("%v", err)
	}
	settle(o.settle)

	bcpu := &cpuWatch{}
	bcpu.add("this program (loop, producer, out reader)", self)
	bcpu.add("Kafka broker", func() []int { return []int{br.Pid()} })
	loop, err := startLoop(br.Addr, "bin", "bout")
	if err != nil {
		return err
	}
	brs, err := runE2E(o, br.Addr, "bin", "bout", "b", bcpu, func(float64) float64 { return paceRate })
	if lerr := loop.stop(); lerr != nil && err == nil {
		err = lerr
	}
	if err != nil {
		return fmt.Errorf("baseline: %w", err)
	}

	rep.cpu("8 freshet, burst", fr.satCPU)
	rep.cpu(fmt.Sprintf("8 freshet at %.0f/s", paceRate), fr.pcpu)
	rep.cpu("8 baseline loop, burst", brs.satCPU)
	rep.cpu(fmt.Sprintf("8 baseline loop at %.0f/s", paceRate), brs.pcpu)
	for _, x := range []struct {
		name string
		r    e2eResult
	}{{"freshet", fr}, {"baseline", brs}} {
		switch {
		case x.r.arrived == x.r.sent && x.r.bad == 0:
			rep.note("Check (8, %s): all %d events produced reached the out topic (%d duplicates).", x.name, x.r.sent, x.r.dups)
		default:
			rep.note("CHECK FAILED (8, %s): %d of %d events reached the out topic; %d records without ce_id or ce_%s.", x.name, x.r.arrived, x.r.sent, x.r.bad, sentExt)
		}
		if x.r.late > 0 {
			rep.note("8 %s at %.0f/s: %d sends started more than 100 ms behind schedule.", x.name, paceRate, x.r.late)
		}
	}
	rep.note("8: burst of %d events for freshet (%v), %d for the baseline loop (%v).", fr.events, fr.elapsed.Round(time.Millisecond), brs.events, brs.elapsed.Round(time.Millisecond))
	rep.row("8", "Kafka → fn → Kafka throughput (burst, events/s)", fmtRate(brs.rate), fmtRate(fr.rate), "", "")
	rep.row("8", fmt.Sprintf("end-to-end p50 at %s (produce → out topic)", fmtRate(paceRate)), fmtDur(brs.paced.p50), fmtDur(fr.paced.p50), "", "")
	rep.row("8", fmt.Sprintf("end-to-end p99 at %s", fmtRate(paceRate)), fmtDur(brs.paced.p99), fmtDur(fr.paced.p99), "", "")
	return nil
}

// loop is the baseline of benchmark 8: consume → produce, at least once.
type loop struct {
	cancel context.CancelFunc
	done   chan error
}

func startLoop(addr, in, out string) (*loop, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumerGroup("bench8-loop"), kgo.ConsumeTopics(in),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(kafkasource.FetchMaxWait),
		kgo.DefaultProduceTopic(out), kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.AutoCommitMarks(), kgo.AutoCommitInterval(kafkasource.CommitInterval))
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	l := &loop{cancel: cancel, done: make(chan error, 1)}
	go func() {
		var failed atomic.Int64
		for ctx.Err() == nil {
			fs := cl.PollFetches(ctx)
			fs.EachRecord(func(r *kgo.Record) {
				o := &kgo.Record{Key: r.Key, Value: r.Value, Headers: r.Headers}
				cl.Produce(ctx, o, func(_ *kgo.Record, err error) {
					if err != nil {
						if !errors.Is(err, context.Canceled) {
							failed.Add(1)
						}
						return
					}
					cl.MarkCommitRecords(r)
				})
			})
		}
		fctx, fcancel := context.WithTimeout(context.Background(), 10*time.Second)
		_ = cl.Flush(fctx)
		fcancel()
		cl.Close() // commits what is marked
		if n := failed.Load(); n > 0 {
			l.done <- fmt.Errorf("the loop failed to produce %d records", n)
			return
		}
		l.done <- nil
	}()
	return l, nil
}

func (l *loop) stop() error { l.cancel(); return <-l.done }
