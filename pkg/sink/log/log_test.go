package log_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/freshetproj/freshet/pkg/cloudevent"
	"github.com/freshetproj/freshet/pkg/delivery"
	logsink "github.com/freshetproj/freshet/pkg/sink/log"
)

func event(id string, data []byte, contentType string) *cloudevent.Event {
	return &cloudevent.Event{
		SpecVersion:     "1.0",
		ID:              id,
		Source:          "/sink/log",
		Type:            "dev.freshet.log",
		DataContentType: contentType,
		Data:            data,
	}
}

// parseLine reads one line back as a structured-mode CloudEvent.
func parseLine(t *testing.T, line []byte) *cloudevent.Event {
	t.Helper()
	if !json.Valid(line) {
		t.Fatalf("line is not JSON: %q", line)
	}
	r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(line))
	r.Header.Set("Content-Type", cloudevent.StructuredContentType)
	events, err := cloudevent.ReadRequest(r, 0)
	if err != nil {
		t.Fatalf("line %q is not a structured CloudEvent: %v", line, err)
	}
	if len(events) != 1 {
		t.Fatalf("line %q holds %d events", line, len(events))
	}
	return events[0]
}

func lines(out []byte) [][]byte {
	if len(out) == 0 {
		return nil
	}
	if out[len(out)-1] != '\n' {
		return append(bytes.Split(out, []byte("\n")), nil) // mark the missing newline
	}
	return bytes.Split(out[:len(out)-1], []byte("\n"))
}

func TestDeliverWritesOneLinePerEvent(t *testing.T) {
	cases := []struct {
		name   string
		events []*cloudevent.Event
	}{
		{"no events", nil},
		{"json data", []*cloudevent.Event{event("j1", []byte(`{"a":1}`), "application/json")}},
		{"text data with newlines", []*cloudevent.Event{event("t1", []byte("line one\nline two\r\n"), "text/plain")}},
		{"binary data", []*cloudevent.Event{event("b1", []byte{0, 1, 2, '\n', 0xff}, "application/octet-stream")}},
		{"no data", []*cloudevent.Event{event("n1", nil, "")}},
		{"unicode subject and quoting extension", []*cloudevent.Event{func() *cloudevent.Event {
			e := event("x1", nil, "")
			e.Subject = "unicode é ü"
			e.SetExtension("note", `quote " and backslash \\`)
			return e
		}()}},
		{"batch", []*cloudevent.Event{
			event("m1", []byte(`1`), "application/json"),
			event("m2", []byte(`"two"`), "application/json"),
			event("m3", []byte(`hello`), "text/plain"),
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			sink := logsink.New("log", &out)
			if err := sink.Write(context.Background(), tc.events); err != nil {
				t.Fatalf("Write: %v", err)
			}
			got := lines(out.Bytes())
			if len(got) != len(tc.events) {
				t.Fatalf("%d events gave %d lines, want exactly one line per event; output:\n%s", len(tc.events), len(got), out.Bytes())
			}
			for i, line := range got {
				back := parseLine(t, line)
				want := tc.events[i]
				if back.ID != want.ID || back.Source != want.Source || back.Type != want.Type || back.Subject != want.Subject ||
					len(back.Extensions) != len(want.Extensions) || back.Extensions["note"] != want.Extensions["note"] {
					t.Fatalf("line %d read back as %+v, want %+v", i, back, want)
				}
				if !bytes.Equal(back.Data, want.Data) && !jsonEqual(back.Data, want.Data) {
					t.Fatalf("line %d data = %q, want %q", i, back.Data, want.Data)
				}
			}
		})
	}
}

// TestPrettyJSONDataStaysOnOneLine: JSON data is very often pretty-printed
// (curl -d @event.json in binary mode); its line must still be one line.
func TestPrettyJSONDataStaysOnOneLine(t *testing.T) {
	pretty := []byte("{\n  \"a\": 1,\n  \"b\": [\n    2\n  ]\n}\n")
	var out bytes.Buffer
	sink := logsink.New("log", &out)
	events := []*cloudevent.Event{event("p1", pretty, "application/json"), event("p2", []byte(`{"c":3}`), "application/json")}
	if err := sink.Write(context.Background(), events); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	got := lines(out.Bytes())
	if len(got) != len(events) {
		t.Fatalf("%d events with pretty-printed JSON data gave %d lines, want one line per event; output:\n%s",
			len(events), len(got), out.Bytes())
	}
	for i, line := range got {
		back := parseLine(t, line)
		if back.ID != events[i].ID || !jsonEqual(back.Data, events[i].Data) {
			t.Fatalf("line %d read back as %+v", i, back)
		}
	}
}

func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}

// TestConcurrentDeliverNeverInterleaves runs many Deliver calls at once on
// one sink whose writer is a plain bytes.Buffer: the race detector checks
// the sink serialises writes, and every line must parse on its own.
func TestConcurrentDeliverNeverInterleaves(t *testing.T) {
	var out bytes.Buffer
	sink := logsink.New("log", &out)
	const goroutines, perCall, calls = 64, 3, 10
	// Lines longer than the sink's 64 KiB buffer force direct writes.
	big := []byte(`"` + strings.Repeat("z", 70<<10) + `"`)
	var wg sync.WaitGroup
	errs := make(chan error, goroutines*calls)
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range calls {
				events := make([]*cloudevent.Event, perCall)
				for i := range events {
					data := []byte(`{"g":` + strconv.Itoa(g) + `,"c":` + strconv.Itoa(c) + `}`)
					if (g+c+i)%17 == 0 {
						data = big
					}
					events[i] = event("g"+strconv.Itoa(g)+"-c"+strconv.Itoa(c)+"-i"+strconv.Itoa(i), data, "application/json")
				}
				if err := sink.Write(context.Background(), events); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("Deliver: %v", err)
	}
	seen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(out.Bytes()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		e := parseLine(t, sc.Bytes())
		if seen[e.ID] {
			t.Fatalf("event %s written twice", e.ID)
		}
		seen[e.ID] = true
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(seen) != goroutines*perCall*calls {
		t.Fatalf("%d distinct events read back, want %d", len(seen), goroutines*perCall*calls)
	}
}

// failingWriter fails its first `fail` writes.
type failingWriter struct {
	mu   sync.Mutex
	fail int
	buf  bytes.Buffer
}

var errDiskFull = errors.New("no space left on device")

func (w *failingWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fail > 0 {
		w.fail--
		return 0, errDiskFull
	}
	return w.buf.Write(p)
}

func TestDeliverWriterFails(t *testing.T) {
	w := &failingWriter{fail: 1 << 30}
	sink := logsink.New("mylog", w)
	err := sink.Write(context.Background(), []*cloudevent.Event{event("f1", []byte(`1`), "application/json")})
	if err == nil {
		t.Fatal("Deliver to a failing writer returned no error")
	}
	var f *delivery.Failure
	if !errors.As(err, &f) || f.Destination != "mylog" || !errors.Is(err, errDiskFull) {
		t.Fatalf("Deliver error = %v (%T), want a *delivery.Failure to mylog wrapping the write error", err, err)
	}
}

func TestDeliverInvalidEventIsPermanent(t *testing.T) {
	var out bytes.Buffer
	sink := logsink.New("log", &out)
	bad := event("", nil, "") // no id
	err := sink.Write(context.Background(), []*cloudevent.Event{event("ok", nil, ""), bad})
	var f *delivery.Failure
	if !errors.As(err, &f) || f.Retriable() {
		t.Fatalf("Deliver(invalid) = %v, want a permanent failure", err)
	}
	if out.Len() != 0 {
		t.Fatalf("a batch with an invalid event wrote %q", out.Bytes())
	}
}

// TestDeliverRecoversAfterWriteError: the dispatcher retries a failed
// Deliver (the failure is retriable), so once the writer works again the
// next Deliver must succeed and write only its own events.
func TestDeliverRecoversAfterWriteError(t *testing.T) {
	w := &failingWriter{fail: 1}
	sink := logsink.New("log", w)
	if err := sink.Write(context.Background(), []*cloudevent.Event{event("r1", []byte(`1`), "application/json")}); err == nil {
		t.Fatal("first Deliver: no error from a failing writer")
	}
	err := sink.Write(context.Background(), []*cloudevent.Event{event("r2", []byte(`2`), "application/json")})
	if err != nil {
		t.Fatalf("after one failed write the sink must recover once its writer works again: %v", err)
	}
	got := lines(w.buf.Bytes())
	if len(got) == 0 || parseLine(t, got[len(got)-1]).ID != "r2" {
		t.Fatalf("after recovery the output is %q, want r2's line last", w.buf.Bytes())
	}
}
