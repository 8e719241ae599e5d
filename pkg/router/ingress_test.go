package router

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/freshetproj/freshet/pkg/buffer"
	"github.com/freshetproj/freshet/pkg/cloudevent"
	"github.com/prometheus/client_golang/prometheus"
)

// ingressServer serves in over real HTTP.
func ingressServer(t *testing.T, in *Ingress) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(in.Handler())
	t.Cleanup(srv.Close)
	return srv
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

// errorAnswer is the JSON body of an error answer.
type errorAnswer struct {
	Error     string `json:"error"`
	Attribute string `json:"attribute"`
	Index     *int   `json:"index"`
}

func (a answer) errorBody(t *testing.T) errorAnswer {
	t.Helper()
	if ct := a.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("error answer has Content-Type %q, want application/json; body %q", ct, a.body)
	}
	var e errorAnswer
	dec := json.NewDecoder(bytes.NewReader(a.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		t.Fatalf("error answer %q is not the JSON error body: %v", a.body, err)
	}
	if e.Error == "" {
		t.Fatalf("error answer %q has no error message", a.body)
	}
	return e
}

// request is one HTTP request to send. Header keys are sent exactly as
// written.
type request struct {
	method  string
	path    string
	header  map[string]string
	body    string
	chunked bool // send the body without Content-Length
}

func do(t *testing.T, base string, r request) answer {
	t.Helper()
	method := r.method
	if method == "" {
		method = http.MethodPost
	}
	var body io.Reader
	if r.body != "" {
		body = strings.NewReader(r.body)
		if r.chunked {
			body = io.MultiReader(body) // hides the length
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, base+r.path, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range r.header {
		req.Header[k] = []string{v}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, r.path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read answer: %v", err)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: b}
}

// stored reads and acks exactly want messages from b, checking that each
// message's dedup id is the event's EventID, and returns the events sorted
// by id. It fails if more than want are stored.
func stored(t *testing.T, b buffer.Buffer, want int) []*cloudevent.Event {
	t.Helper()
	mustEqual(t, "pending before read", pending(t, b), int64(want))
	var out []*cloudevent.Event
	deadline := time.Now().Add(15 * time.Second)
	for len(out) < want && time.Now().Before(deadline) {
		ds, err := b.Read(context.Background(), 100, 100*time.Millisecond)
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		for _, d := range ds {
			e, err := cloudevent.UnmarshalRecord(d.Message().Data)
			if err != nil {
				t.Fatalf("record: %v", err)
			}
			if id := d.Message().ID; id != EventID(e) {
				t.Fatalf("message id %q, want EventID %q", id, EventID(e))
			}
			out = append(out, e)
			if err := d.Ack(context.Background()); err != nil {
				t.Fatalf("ack: %v", err)
			}
		}
	}
	mustEqual(t, "events read", len(out), want)
	mustEqual(t, "pending after read", pending(t, b), int64(0))
	slices.SortFunc(out, func(a, b *cloudevent.Event) int { return strings.Compare(a.ID, b.ID) })
	return out
}

func binaryHeaders(id string, extra map[string]string) map[string]string {
	h := map[string]string{
		"ce-specversion": "1.0",
		"ce-id":          id,
		"ce-source":      "/ingress/test",
		"ce-type":        "dev.freshet.in",
	}
	for k, v := range extra {
		if v == "" {
			delete(h, k)
			continue
		}
		h[k] = v
	}
	return h
}

func ev(id string, mod func(e *cloudevent.Event)) *cloudevent.Event {
	e := &cloudevent.Event{SpecVersion: "1.0", ID: id, Source: "/ingress/test", Type: "dev.freshet.in"}
	if mod != nil {
		mod(e)
	}
	return e
}

const structuredCT = "application/cloudevents+json; charset=utf-8"

func TestIngressAccepts(t *testing.T) {
	cases := []struct {
		name string
		req  request
		want []*cloudevent.Event
	}{
		{
			name: "binary",
			req: request{
				header: binaryHeaders("b1", map[string]string{
					"ce-subject":   "caf%C3%A9",
					"ce-time":      "2025-03-01T12:00:00Z",
					"ce-tenant":    "acme%20eu",
					"Content-Type": "application/json",
				}),
				body: `{"a": 1}`,
			},
			want: []*cloudevent.Event{ev("b1", func(e *cloudevent.Event) {
				e.Subject = "café"
				e.Time = "2025-03-01T12:00:00Z"
				e.Extensions = map[string]string{"tenant": "acme eu"}
				e.DataContentType = "application/json"
				e.Data = []byte(`{"a": 1}`)
			})},
		},
		{
			name: "binary, escapes at the end and of percent, upper-case header names",
			req: request{
				header: map[string]string{
					"CE-SPECVERSION": "1.0",
					"CE-ID":          "b2",
					"Ce-Source":      "/ingress/test",
					"ce-TYPE":        "dev.freshet.in",
					"ce-subject":     "100%25 a%41",
				},
			},
			want: []*cloudevent.Event{ev("b2", func(e *cloudevent.Event) { e.Subject = "100% aA" })},
		},
		{
			name: "binary, binary data",
			req: request{
				header: binaryHeaders("b3", map[string]string{"Content-Type": "application/octet-stream"}),
				body:   "\x00\x01\xff",
			},
			want: []*cloudevent.Event{ev("b3", func(e *cloudevent.Event) {
				e.DataContentType = "application/octet-stream"
				e.Data = []byte("\x00\x01\xff")
			})},
		},
		{
			name: "structured",
			req: request{
				header: map[string]string{"Content-Type": structuredCT},
				body: `{"specversion":"1.0","id":"s1","source":"/ingress/test","type":"dev.freshet.in",
					"subject":"café","datacontenttype":"application/json","count":5,"flag":true,"tenant":"acme",
					"data":{"b": [1, 2]}}`,
			},
			want: []*cloudevent.Event{ev("s1", func(e *cloudevent.Event) {
				e.Subject = "café"
				e.DataContentType = "application/json"
				e.Extensions = map[string]string{"count": "5", "flag": "true", "tenant": "acme"}
				e.Data = []byte(`{"b": [1, 2]}`)
			})},
		},
		{
			name: "structured, mixed-case media type",
			req: request{
				header: map[string]string{"Content-Type": "Application/CloudEvents+JSON"},
				body:   `{"specversion":"1.0","id":"s2","source":"/ingress/test","type":"dev.freshet.in","datacontenttype":"text/plain","data":"hello"}`,
			},
			want: []*cloudevent.Event{ev("s2", func(e *cloudevent.Event) {
				e.DataContentType = "text/plain"
				e.Data = []byte("hello")
			})},
		},
		{
			name: "structured, data_base64",
			req: request{
				header: map[string]string{"Content-Type": structuredCT},
				body:   `{"specversion":"1.0","id":"s3","source":"/ingress/test","type":"dev.freshet.in","datacontenttype":"application/octet-stream","data_base64":"AAH/aGk="}`,
			},
			want: []*cloudevent.Event{ev("s3", func(e *cloudevent.Event) {
				e.DataContentType = "application/octet-stream"
				e.Data = []byte("\x00\x01\xffhi")
			})},
		},
		{
			name: "batch of 3",
			req: request{
				header: map[string]string{"Content-Type": "application/cloudevents-batch+json"},
				body: `[{"specversion":"1.0","id":"k1","source":"/ingress/test","type":"dev.freshet.in","data":1},
					{"specversion":"1.0","id":"k2","source":"/ingress/test","type":"dev.freshet.in","data_base64":"aGk="},
					{"specversion":"1.0","id":"k3","source":"/ingress/test","type":"dev.freshet.in","subject":"three"}]`,
			},
			want: []*cloudevent.Event{
				ev("k1", func(e *cloudevent.Event) { e.Data = []byte("1") }),
				ev("k2", func(e *cloudevent.Event) { e.Data = []byte("hi") }),
				ev("k3", func(e *cloudevent.Event) { e.Subject = "three" }),
			},
		},
		{
			name: "batch, same event twice is stored once",
			req: request{
				header: map[string]string{"Content-Type": "application/cloudevents-batch+json"},
				body: `[{"specversion":"1.0","id":"d1","source":"/ingress/test","type":"dev.freshet.in"},
					{"specversion":"1.0","id":"d1","source":"/ingress/test","type":"dev.freshet.in"}]`,
			},
			want: []*cloudevent.Event{ev("d1", nil)},
		},
		{
			name: "empty batch",
			req: request{
				header: map[string]string{"Content-Type": "application/cloudevents-batch+json"},
				body:   `[]`,
			},
			want: nil,
		},
	}
	store := newStore(t)
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out := openBuffer(t, store, "ingress_ok_"+strconv.Itoa(i))
			srv := ingressServer(t, &Ingress{Sources: sources(t, map[string][]Route{"ns/p/src": {{To: "ns/p/fn", Out: out}}})})
			a := do(t, srv.URL, request{path: "/pipelines/ns/p/src", header: tc.req.header, body: tc.req.body})
			if a.status != http.StatusAccepted {
				t.Fatalf("status %d, want 202; body %s", a.status, a.body)
			}
			got := stored(t, out, len(tc.want))
			for j := range tc.want {
				if !reflect.DeepEqual(got[j], tc.want[j]) {
					t.Fatalf("stored event %d:\n got %+v (data %q)\nwant %+v (data %q)", j, got[j], got[j].Data, tc.want[j], tc.want[j].Data)
				}
			}
		})
	}
}

// TestIngressRoutes: a filter drops events that don't match it, and events
// fan out to every matching route.
func TestIngressRoutes(t *testing.T) {
	store := newStore(t)
	all1 := openBuffer(t, store, "ingress_routes_all1")
	all2 := openBuffer(t, store, "ingress_routes_all2")
	orders := openBuffer(t, store, "ingress_routes_orders")
	acme := openBuffer(t, store, "ingress_routes_acme")
	srv := ingressServer(t, &Ingress{Sources: sources(t, map[string][]Route{
		"ns/p/src": {
			{To: "all1", Out: all1},
			{To: "all2", Out: all2},
			{To: "orders", Out: orders, Filter: filter(map[string]string{"type": "com.acme.order"}, nil)},
			{To: "acme", Out: acme, Filter: filter(nil, map[string]string{"tenant": "acme-"})},
		},
		"ns/p/only-orders": {
			{To: "orders", Out: orders, Filter: filter(map[string]string{"type": "com.acme.order"}, nil)},
		},
	})})
	batch := `[
		{"specversion":"1.0","id":"r1","source":"/s","type":"com.acme.order","tenant":"acme-eu"},
		{"specversion":"1.0","id":"r2","source":"/s","type":"com.acme.order"},
		{"specversion":"1.0","id":"r3","source":"/s","type":"com.acme.refund","tenant":"acme-us"},
		{"specversion":"1.0","id":"r4","source":"/s","type":"com.acme.refund","tenant":"globex"}]`
	a := do(t, srv.URL, request{path: "/pipelines/ns/p/src", header: map[string]string{"Content-Type": cloudevent.BatchContentType}, body: batch})
	mustEqual(t, "status", a.status, http.StatusAccepted)
	ids := func(events []*cloudevent.Event) string {
		var s []string
		for _, e := range events {
			s = append(s, e.ID)
		}
		return strings.Join(s, ",")
	}
	mustEqual(t, "all1", ids(stored(t, all1, 4)), "r1,r2,r3,r4")
	mustEqual(t, "all2", ids(stored(t, all2, 4)), "r1,r2,r3,r4")
	mustEqual(t, "orders", ids(stored(t, orders, 2)), "r1,r2")
	mustEqual(t, "acme", ids(stored(t, acme, 2)), "r1,r3")
	// An event no route takes is accepted and dropped.
	a = do(t, srv.URL, request{path: "/pipelines/ns/p/only-orders", header: binaryHeaders("x1", map[string]string{"ce-type": "com.acme.refund"})})
	mustEqual(t, "status of a filtered-out event", a.status, http.StatusAccepted)
	mustEqual(t, "orders pending", pending(t, orders), int64(0))
}

func TestIngressRejects(t *testing.T) {
	const maxBody = 1024
	structured := func(body string) request {
		return request{header: map[string]string{"Content-Type": structuredCT}, body: body}
	}
	batch := func(body string) request {
		return request{header: map[string]string{"Content-Type": cloudevent.BatchContentType}, body: body}
	}
	idx := func(i int) *int { return &i }
	big := `{"specversion":"1.0","id":"big","source":"/s","type":"t","data":"` + strings.Repeat("x", maxBody) + `"}`
	cases := []struct {
		name      string
		req       request
		status    int
		attribute string
		index     *int
		message   string // the error message contains this
	}{
		{"binary missing id", request{header: binaryHeaders("", map[string]string{"ce-id": ""})}, 400, "id", nil, "required"},
		{"binary missing source", request{header: binaryHeaders("x", map[string]string{"ce-source": ""})}, 400, "source", nil, "required"},
		{"binary missing type", request{header: binaryHeaders("x", map[string]string{"ce-type": ""})}, 400, "type", nil, "required"},
		{"binary missing specversion", request{header: binaryHeaders("x", map[string]string{"ce-specversion": ""})}, 400, "specversion", nil, "required"},
		{"binary specversion 0.3", request{header: binaryHeaders("x", map[string]string{"ce-specversion": "0.3"})}, 400, "specversion", nil, "0.3"},
		{"binary bad attribute name", request{header: binaryHeaders("x", map[string]string{"ce-Bad_Name": "v"})}, 400, "bad_name", nil, "extension name"},
		{"binary invalid percent escape", request{header: binaryHeaders("x", map[string]string{"ce-subject": "caf%ZZ"})}, 400, "subject", nil, "percent"},
		{"binary truncated percent escape", request{header: binaryHeaders("x", map[string]string{"ce-subject": "caf%4"})}, 400, "subject", nil, "percent"},
		{"binary overlong UTF-8 %C0%A0", request{header: binaryHeaders("x", map[string]string{"ce-subject": "%C0%A0"})}, 400, "subject", nil, "UTF-8"},
		{"binary datacontenttype as ce- header", request{header: binaryHeaders("x", map[string]string{"ce-datacontenttype": "text/plain"})}, 400, "datacontenttype", nil, "Content-Type"},
		{"binary bad time", request{header: binaryHeaders("x", map[string]string{"ce-time": "yesterday"})}, 400, "time", nil, "RFC 3339"},
		{"no ce- headers", request{header: map[string]string{"Content-Type": "application/json"}, body: `{}`}, 400, "", nil, "not a CloudEvent"},
		{"structured missing id", structured(`{"specversion":"1.0","source":"/s","type":"t"}`), 400, "id", nil, "required"},
		{"structured missing source", structured(`{"specversion":"1.0","id":"x","type":"t"}`), 400, "source", nil, "required"},
		{"structured missing type", structured(`{"specversion":"1.0","id":"x","source":"/s"}`), 400, "type", nil, "required"},
		{"structured specversion 0.3", structured(`{"specversion":"0.3","id":"x","source":"/s","type":"t"}`), 400, "specversion", nil, "0.3"},
		{"structured bad attribute name", structured(`{"specversion":"1.0","id":"x","source":"/s","type":"t","Bad_Name":"v"}`), 400, "Bad_Name", nil, "extension name"},
		{"structured data and data_base64", structured(`{"specversion":"1.0","id":"x","source":"/s","type":"t","data":1,"data_base64":"AA=="}`), 400, "data", nil, "data_base64"},
		{"structured bad base64", structured(`{"specversion":"1.0","id":"x","source":"/s","type":"t","data_base64":"!!"}`), 400, "data_base64", nil, "base64"},
		{"structured id not a string", structured(`{"specversion":"1.0","id":1,"source":"/s","type":"t"}`), 400, "id", nil, "string"},
		{"structured invalid JSON", structured(`{"specversion":"1.0",`), 400, "", nil, "invalid JSON"},
		{"structured not an object", structured(`[1]`), 400, "", nil, "JSON object"},
		{"structured empty body", structured(``), 400, "", nil, ""},
		{"batch invalid JSON", batch(`[{"specversion":"1.0"`), 400, "", nil, "invalid JSON"},
		{"batch not an array", batch(`{"specversion":"1.0","id":"x","source":"/s","type":"t"}`), 400, "", nil, "array"},
		{"batch with one bad event", batch(`[
			{"specversion":"1.0","id":"g0","source":"/s","type":"t"},
			{"specversion":"1.0","id":"g1","source":"/s","type":"t"},
			{"specversion":"1.0","id":"g2","type":"t"}]`), 400, "source", idx(2), "event 2"},
		{"batch with bad first event", batch(`[{"specversion":"0.3","id":"g0","source":"/s","type":"t"},{"specversion":"1.0","id":"g1","source":"/s","type":"t"}]`), 400, "specversion", idx(0), "event 0"},
		{"unsupported format", request{header: map[string]string{"Content-Type": "application/cloudevents+avro"}, body: "x"}, 400, "", nil, "avro"},
		{"body over MaxBodyBytes", structured(big), 413, "", nil, strconv.Itoa(maxBody)},
		{"chunked body over MaxBodyBytes", request{header: map[string]string{"Content-Type": structuredCT}, body: big, chunked: true}, 413, "", nil, strconv.Itoa(maxBody)},
		{"binary body over MaxBodyBytes", request{header: binaryHeaders("x", map[string]string{"Content-Type": "text/plain"}), body: strings.Repeat("y", maxBody+1)}, 413, "", nil, ""},
	}
	store := newStore(t)
	out := openBuffer(t, store, "ingress_rejects")
	other := openBuffer(t, store, "ingress_rejects_other")
	reg := prometheus.NewRegistry()
	in := &Ingress{
		Sources: sources(t, map[string][]Route{
			"ns/p/src": {{To: "ns/p/fn", Out: out}, {To: "ns/p/other", Out: other}},
		}),
		MaxBodyBytes: maxBody,
		Metrics:      NewMetrics(reg),
		Gatherer:     reg,
	}
	srv := ingressServer(t, in)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.req
			r.path = "/pipelines/ns/p/src"
			a := do(t, srv.URL, r)
			if a.status != tc.status {
				t.Fatalf("status %d, want %d; body %s", a.status, tc.status, a.body)
			}
			e := a.errorBody(t)
			mustEqual(t, "attribute", e.Attribute, tc.attribute)
			if !strings.Contains(e.Error, tc.message) {
				t.Fatalf("error %q does not mention %q", e.Error, tc.message)
			}
			if tc.attribute != "" && !strings.Contains(e.Error, strconv.Quote(tc.attribute)) {
				t.Fatalf("error %q does not name attribute %q", e.Error, tc.attribute)
			}
			switch {
			case tc.index == nil && e.Index != nil:
				t.Fatalf("index %d in the answer, want none", *e.Index)
			case tc.index != nil && (e.Index == nil || *e.Index != *tc.index):
				t.Fatalf("index %v in the answer, want %d", e.Index, *tc.index)
			}
			mustEqual(t, "pending after a rejection", pending(t, out), int64(0))
			mustEqual(t, "pending after a rejection (second route)", pending(t, other), int64(0))
		})
	}
	// Not-found and wrong-method answers.
	notFound := []struct {
		name   string
		method string
		path   string
		status int
	}{
		{"unknown pipeline", "", "/pipelines/ns/nope/src", 404},
		{"unknown vertex", "", "/pipelines/ns/p/nope", 404},
		{"unknown namespace", "", "/pipelines/other/p/src", 404},
		{"missing vertex", "", "/pipelines/ns/p", 404},
		{"unknown function", "", "/functions/ns/nope", 404},
		{"GET on the ingest path", http.MethodGet, "/pipelines/ns/p/src", 405},
		{"PUT on the ingest path", http.MethodPut, "/pipelines/ns/p/src", 405},
	}
	for _, tc := range notFound {
		t.Run(tc.name, func(t *testing.T) {
			a := do(t, srv.URL, request{method: tc.method, path: tc.path, header: binaryHeaders("nf", nil)})
			if a.status != tc.status {
				t.Fatalf("%s %s: status %d, want %d; body %s", tc.method, tc.path, a.status, tc.status, a.body)
			}
			if tc.status == 404 && strings.HasPrefix(tc.path, "/pipelines/ns/p/nope") {
				if e := a.errorBody(t); !strings.Contains(e.Error, "ns/p/nope") {
					t.Fatalf("404 error %q does not name the vertex", e.Error)
				}
			}
			mustEqual(t, "pending", pending(t, out), int64(0))
		})
	}
	rejected := map[int]int{}
	for _, tc := range cases {
		rejected[tc.status]++
	}
	metrics := do(t, srv.URL, request{method: http.MethodGet, path: "/metrics"})
	mustEqual(t, "metrics status", metrics.status, http.StatusOK)
	for _, want := range []string{
		`freshet_ingress_rejected_requests_total{code="400"} ` + strconv.Itoa(rejected[400]),
		`freshet_ingress_rejected_requests_total{code="413"} ` + strconv.Itoa(rejected[413]),
	} {
		if !strings.Contains(string(metrics.body), want) {
			t.Fatalf("/metrics lacks %q:\n%s", want, grepLines(string(metrics.body), "freshet_"))
		}
	}
	if strings.Contains(string(metrics.body), "freshet_ingress_events_total{") {
		t.Fatalf("/metrics counts accepted events after only rejections:\n%s", grepLines(string(metrics.body), "freshet_"))
	}
}

func grepLines(s, substr string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func TestIngressHealthDrainingMetrics(t *testing.T) {
	store := newStore(t)
	out := openBuffer(t, store, "ingress_health")
	reg := prometheus.NewRegistry()
	metrics := NewMetrics(reg)
	in := &Ingress{
		Sources:  sources(t, map[string][]Route{"ns/p/src": {{To: "ns/p/fn", Out: out}}}, metrics),
		Metrics:  metrics,
		Gatherer: reg,
	}
	srv := ingressServer(t, in)
	get := func(path string) answer { return do(t, srv.URL, request{method: http.MethodGet, path: path}) }
	mustEqual(t, "/healthz", get("/healthz").status, http.StatusOK)
	mustEqual(t, "/readyz", get("/readyz").status, http.StatusOK)

	batch := `[{"specversion":"1.0","id":"m1","source":"/s","type":"t"},
		{"specversion":"1.0","id":"m2","source":"/s","type":"t"},
		{"specversion":"1.0","id":"m3","source":"/s","type":"t"}]`
	a := do(t, srv.URL, request{path: "/pipelines/ns/p/src", header: map[string]string{"Content-Type": cloudevent.BatchContentType}, body: batch})
	mustEqual(t, "batch status", a.status, http.StatusAccepted)
	mustEqual(t, "pending", pending(t, out), int64(3))
	m := get("/metrics")
	mustEqual(t, "/metrics", m.status, http.StatusOK)
	if want := `freshet_ingress_events_total{source="ns/p/src"} 3`; !strings.Contains(string(m.body), want) {
		t.Fatalf("/metrics lacks %q:\n%s", want, grepLines(string(m.body), "freshet_"))
	}

	in.SetDraining()
	r := get("/readyz")
	mustEqual(t, "/readyz while draining", r.status, http.StatusServiceUnavailable)
	r.errorBody(t)
	mustEqual(t, "/healthz while draining", get("/healthz").status, http.StatusOK)
	a = do(t, srv.URL, request{path: "/pipelines/ns/p/src", header: binaryHeaders("late", nil)})
	mustEqual(t, "ingest while draining", a.status, http.StatusServiceUnavailable)
	if ra := a.header.Get("Retry-After"); ra == "" {
		t.Fatal("503 while draining has no Retry-After")
	} else if n, err := strconv.Atoi(ra); err != nil || n < 1 {
		t.Fatalf("Retry-After %q is not a positive number of seconds", ra)
	}
	a.errorBody(t)
	mustEqual(t, "pending after draining", pending(t, out), int64(3))
	m = get("/metrics")
	if want := `freshet_ingress_rejected_requests_total{code="503"} 1`; !strings.Contains(string(m.body), want) {
		t.Fatalf("/metrics lacks %q:\n%s", want, grepLines(string(m.body), "freshet_"))
	}
	if want := `freshet_ingress_events_total{source="ns/p/src"} 3`; !strings.Contains(string(m.body), want) {
		t.Fatalf("/metrics lacks %q:\n%s", want, grepLines(string(m.body), "freshet_"))
	}
}

// TestIngressStoreFailure: when the buffer cannot store the events, the
// ingress answers 503 with Retry-After rather than 202.
func TestIngressStoreFailure(t *testing.T) {
	store := newStore(t)
	out := openBuffer(t, store, "ingress_closed")
	if err := out.Close(); err != nil {
		t.Fatalf("close buffer: %v", err)
	}
	srv := ingressServer(t, &Ingress{Sources: sources(t, map[string][]Route{"ns/p/src": {{To: "ns/p/fn", Out: out}}})})
	a := do(t, srv.URL, request{path: "/pipelines/ns/p/src", header: binaryHeaders("c1", nil)})
	mustEqual(t, "status", a.status, http.StatusServiceUnavailable)
	if a.header.Get("Retry-After") == "" {
		t.Fatal("503 without Retry-After")
	}
	if e := a.errorBody(t); !strings.Contains(e.Error, "could not store") {
		t.Fatalf("error %q does not say the events were not stored", e.Error)
	}
}

// TestIngressPausedSource: a paused pipeline's source answers 503 naming
// the pipeline and stores nothing; SetTable resumes it while serving.
func TestIngressPausedSource(t *testing.T) {
	store := newStore(t)
	out := openBuffer(t, store, "ingress_paused")
	routes := sources(t, map[string][]Route{"ns/p/src": {{To: "ns/p/fn", Out: out}}})
	in := &Ingress{Sources: routes, Paused: map[string]bool{"ns/p/src": true}}
	srv := ingressServer(t, in)

	a := do(t, srv.URL, request{path: "/pipelines/ns/p/src", header: binaryHeaders("p1", nil)})
	mustEqual(t, "status while paused", a.status, http.StatusServiceUnavailable)
	if e := a.errorBody(t); !strings.Contains(e.Error, "ns/p") || !strings.Contains(e.Error, "paused") {
		t.Fatalf("error %q does not say the pipeline is paused", e.Error)
	}
	if a.header.Get("Retry-After") == "" {
		t.Fatal("503 without Retry-After")
	}
	mustEqual(t, "stored while paused", pending(t, out), int64(0))

	in.SetTable(Table{Sources: routes})
	a = do(t, srv.URL, request{path: "/pipelines/ns/p/src", header: binaryHeaders("p2", nil)})
	mustEqual(t, "status after resume", a.status, http.StatusAccepted)
	mustEqual(t, "stored after resume", pending(t, out), int64(1))

	in.SetTable(Table{})
	a = do(t, srv.URL, request{path: "/pipelines/ns/p/src", header: binaryHeaders("p3", nil)})
	mustEqual(t, "status once removed", a.status, http.StatusNotFound)
}
