// Package samples_test runs every sample function as a real process and
// checks real requests against it.
package samples_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/freshetproj/freshet/pkg/cloudevent"
)

func input(id, data string) *cloudevent.Event {
	return &cloudevent.Event{
		SpecVersion: "1.0", ID: id, Source: "/samples/test", Type: "dev.freshet.sample.text",
		DataContentType: "application/json", Data: []byte(data),
		Extensions: map[string]string{"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "tenant": "ä b"},
	}
}

// readOne reads a single-event reply and fails unless there is exactly one.
func readOne(t *testing.T, resp *http.Response) *cloudevent.Event {
	t.Helper()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("status = %d (%s), want 200", resp.StatusCode, body)
	}
	events, err := cloudevent.ReadResponse(resp, 0)
	if err != nil || len(events) != 1 {
		t.Fatalf("reply = %v, %v; want one event", events, err)
	}
	return events[0]
}

// errorBody decodes {"error": ...}.
func errorBody(t *testing.T, resp *http.Response) string {
	t.Helper()
	var msg struct{ Error string }
	if err := json.NewDecoder(resp.Body).Decode(&msg); err != nil {
		t.Fatalf("error body is not JSON: %v", err)
	}
	return msg.Error
}

func TestGoEnrich(t *testing.T) {
	t.Parallel()
	p := start(t, buildGo(t, "go-enrich"))
	ctx := context.Background()
	do := send(t, http.DefaultClient)

	t.Run("enriches", func(t *testing.T) {
		in := input("e1", `{"text":"héllo world"}`)
		got := readOne(t, do(cloudevent.NewRequest(ctx, p.url, in)))
		want := &cloudevent.Event{
			SpecVersion: "1.0", ID: "e1-enriched", Source: in.Source, Type: "dev.freshet.sample.enriched",
			DataContentType: "application/json", Extensions: in.Extensions,
			Data: []byte(`{"text":"héllo world","length":11,"upper":"HÉLLO WORLD"}`),
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("reply =\n %+v\nwant\n %+v", got, want)
		}
	})
	t.Run("batch", func(t *testing.T) {
		resp := do(cloudevent.NewBatchRequest(ctx, p.url, []*cloudevent.Event{input("b1", `{"text":"a"}`), input("b2", `{"text":"bc"}`)}))
		events, err := cloudevent.ReadResponse(resp, 0)
		if err != nil || len(events) != 2 || events[0].ID != "b1-enriched" || events[1].ID != "b2-enriched" {
			t.Fatalf("batch reply = %v, %v; want b1-enriched, b2-enriched", events, err)
		}
	})
	for name, data := range map[string]string{"not JSON": `hello`, "no text": `{"txt":"x"}`, "text not a string": `{"text":5}`} {
		t.Run("permanent: "+name, func(t *testing.T) {
			in := input("bad", data)
			in.DataContentType = ""
			resp := do(cloudevent.NewRequest(ctx, p.url, in))
			if resp.StatusCode != http.StatusUnprocessableEntity {
				t.Fatalf("status = %d, want 422", resp.StatusCode)
			}
			if msg := errorBody(t, resp); !strings.Contains(msg, "text") {
				t.Fatalf("error = %q, want it to mention text", msg)
			}
		})
	}
	t.Run("bad CloudEvent", func(t *testing.T) {
		resp := do(http.NewRequest(http.MethodPost, p.url, strings.NewReader("{}")))
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(errorBody(t, resp), "not a CloudEvent") {
			t.Fatalf("status = %d, want 400 not a CloudEvent", resp.StatusCode)
		}
	})
	t.Run("SIGTERM", func(t *testing.T) { p.stop(t) })
}

func TestPythonClassify(t *testing.T) {
	t.Parallel()
	p := start(t, python(t), "python-classify/main.py")
	ctx := context.Background()
	do := send(t, http.DefaultClient)

	tests := []struct {
		length    int
		wantType  string
		wantClass string
	}{
		{0, "dev.freshet.sample.short", "short"},
		{15, "dev.freshet.sample.short", "short"},
		{16, "dev.freshet.sample.long", "long"},
		{400, "dev.freshet.sample.long", "long"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint("length ", tt.length), func(t *testing.T) {
			in := input("p1", fmt.Sprintf(`{"text":"x","length":%d}`, tt.length))
			got := readOne(t, do(cloudevent.NewRequest(ctx, p.url, in)))
			if got.ID != "p1-classified" || got.Type != tt.wantType || got.Source != in.Source ||
				got.Extensions["tenant"] != "ä b" || got.Extensions["traceparent"] != in.Extensions["traceparent"] {
				t.Fatalf("reply = %+v", got)
			}
			var data map[string]any
			if err := json.Unmarshal(got.Data, &data); err != nil || data["class"] != tt.wantClass || data["text"] != "x" ||
				data["length"] != float64(tt.length) {
				t.Fatalf("reply data = %s (%v), want input plus class %q", got.Data, err, tt.wantClass)
			}
		})
	}
	t.Run("structured", func(t *testing.T) {
		got := readOne(t, do(cloudevent.NewStructuredRequest(ctx, p.url, input("s1", `{"length":20}`))))
		if got.ID != "s1-classified" || got.Type != "dev.freshet.sample.long" {
			t.Fatalf("reply = %+v", got)
		}
	})
	t.Run("chunked body", func(t *testing.T) {
		req, err := cloudevent.NewRequest(ctx, p.url, input("c1", `{"length":3}`))
		if err == nil {
			req.Body, req.ContentLength, req.GetBody = io.NopCloser(strings.NewReader(`{"length":3}`)), -1, nil
		}
		if got := readOne(t, do(req, err)); got.Type != "dev.freshet.sample.short" {
			t.Fatalf("reply = %+v", got)
		}
	})
	badHeaders := map[string]map[string]string{
		"no ce headers":     {},
		"missing id":        {"Ce-Id": ""},
		"malformed escape":  {"Ce-Tenant": "a%2"},
		"overlong UTF-8":    {"Ce-Tenant": "%C0%A0"},
		"wrong specversion": {"Ce-Specversion": "0.3"},
	}
	for name, headers := range badHeaders {
		t.Run("400: "+name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, p.url, strings.NewReader(`{"length":1}`))
			if err == nil && len(headers) > 0 {
				cloudevent.WriteBinary(req.Header, input("x", ""))
				for k, v := range headers {
					req.Header.Set(k, v)
				}
			}
			resp := do(req, err)
			if resp.StatusCode != http.StatusBadRequest || errorBody(t, resp) == "" {
				t.Fatalf("status = %d, want 400 with an error message", resp.StatusCode)
			}
		})
	}
	for name, data := range map[string]string{"not JSON": "x", "no length": `{"text":"a"}`, "length not int": `{"length":"3"}`} {
		t.Run("400: "+name, func(t *testing.T) {
			resp := do(cloudevent.NewRequest(ctx, p.url, input("x", data)))
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(errorBody(t, resp), "data") {
				t.Fatalf("status = %d, want 400 naming the data", resp.StatusCode)
			}
		})
	}
	t.Run("keep-alive after an error", func(t *testing.T) { keepAlive(t, p.url) })
	t.Run("concurrent", func(t *testing.T) { concurrent(t, p.url) })
	t.Run("SIGTERM", func(t *testing.T) { p.stop(t) })
}

// keepAlive checks that one connection carries a 400 and then a 200.
func keepAlive(t *testing.T, url string) {
	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1}}
	defer client.CloseIdleConnections()
	var reused []bool
	trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { reused = append(reused, i.Reused) }}
	ctx := httptrace.WithClientTrace(context.Background(), trace)
	do := send(t, client)
	for i, data := range []string{`{"nolength":1}`, `{"length":1}`, `{"length":99}`} {
		resp := do(cloudevent.NewRequest(ctx, url, input(fmt.Sprint("k", i), data)))
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			t.Fatal(err)
		}
		if want := []int{400, 200, 200}[i]; resp.StatusCode != want {
			t.Fatalf("request %d: status %d, want %d", i, resp.StatusCode, want)
		}
	}
	if fmt.Sprint(reused) != "[false true true]" {
		t.Fatalf("connection reused = %v, want [false true true]", reused)
	}
}

// concurrent sends many requests from many goroutines over keep-alive
// connections and checks every reply.
func concurrent(t *testing.T, url string) {
	const workers, perWorker = 32, 25
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
	defer client.CloseIdleConnections()
	var wg sync.WaitGroup
	var reused, ok atomic.Int64
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) {
				if i.Reused {
					reused.Add(1)
				}
			}}
			ctx := httptrace.WithClientTrace(context.Background(), trace)
			for i := range perWorker {
				n := (w*perWorker + i) % 32
				id := fmt.Sprintf("w%d-%d", w, i)
				req, err := cloudevent.NewRequest(ctx, url, input(id, fmt.Sprintf(`{"length":%d}`, n)))
				if err != nil {
					errs <- err
					return
				}
				resp, err := client.Do(req)
				if err != nil {
					errs <- fmt.Errorf("%s: %w", id, err)
					return
				}
				events, err := cloudevent.ReadResponse(resp, 0)
				resp.Body.Close()
				wantType := map[bool]string{true: "dev.freshet.sample.long", false: "dev.freshet.sample.short"}[n >= 16]
				if err != nil || resp.StatusCode != 200 || len(events) != 1 || events[0].ID != id+"-classified" || events[0].Type != wantType {
					errs <- fmt.Errorf("%s: status %d, events %v, err %v", id, resp.StatusCode, events, err)
					return
				}
				ok.Add(1)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if ok.Load() != workers*perWorker {
		t.Fatalf("%d of %d requests succeeded", ok.Load(), workers*perWorker)
	}
	if reused.Load() < workers*(perWorker-1)/2 {
		t.Fatalf("only %d of %d requests reused a connection: keep-alive is not working", reused.Load(), workers*perWorker)
	}
}

// TestChain sends go-enrich's reply on to python-classify, as a pipeline
// would.
func TestChain(t *testing.T) {
	t.Parallel()
	enrich := start(t, buildGo(t, "go-enrich"))
	classify := start(t, python(t), "python-classify/main.py")
	do := send(t, http.DefaultClient)
	ctx := context.Background()
	enriched := readOne(t, do(cloudevent.NewRequest(ctx, enrich.url, input("c", `{"text":"a fairly long sentence"}`))))
	got := readOne(t, do(cloudevent.NewRequest(ctx, classify.url, enriched)))
	if got.ID != "c-enriched-classified" || got.Type != "dev.freshet.sample.long" {
		t.Fatalf("chained reply = %+v", got)
	}
}
