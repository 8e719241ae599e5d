package router

import (
	"context"
	"testing"
	"time"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
	"github.com/freshetproj/freshet/pkg/cloudevent"
)

func TestMatches(t *testing.T) {
	e := &cloudevent.Event{
		SpecVersion: "1.0",
		ID:          "m1",
		Source:      "/orders/eu",
		Type:        "com.acme.order.created",
		Subject:     "order-17",
		Extensions:  map[string]string{"tenant": "acme-eu", "priority": "high", "empty": ""},
	}
	cases := []struct {
		name string
		f    *v1alpha1.Filter
		want bool
	}{
		{"nil filter", nil, true},
		{"empty filter", &v1alpha1.Filter{}, true},
		{"empty maps", filter(map[string]string{}, map[string]string{}), true},
		{"exact type", filter(map[string]string{"type": "com.acme.order.created"}, nil), true},
		{"exact type differs", filter(map[string]string{"type": "com.acme.order"}, nil), false},
		{"exact is case-sensitive", filter(map[string]string{"type": "COM.ACME.ORDER.CREATED"}, nil), false},
		{"exact source and subject", filter(map[string]string{"source": "/orders/eu", "subject": "order-17"}, nil), true},
		{"exact: one of two differs", filter(map[string]string{"source": "/orders/eu", "subject": "order-18"}, nil), false},
		{"exact specversion", filter(map[string]string{"specversion": "1.0"}, nil), true},
		{"exact extension", filter(map[string]string{"tenant": "acme-eu"}, nil), true},
		{"exact extension differs", filter(map[string]string{"tenant": "acme-us"}, nil), false},
		{"exact missing extension", filter(map[string]string{"region": "eu"}, nil), false},
		{"exact missing extension, empty value", filter(map[string]string{"region": ""}, nil), false},
		{"exact missing optional core attribute", filter(map[string]string{"dataschema": "http://x"}, nil), false},
		{"exact unset core attribute, empty value", filter(map[string]string{"time": ""}, nil), false},
		{"exact extension set to empty", filter(map[string]string{"empty": ""}, nil), true},
		{"prefix type", filter(nil, map[string]string{"type": "com.acme."}), true},
		{"prefix whole value", filter(nil, map[string]string{"type": "com.acme.order.created"}), true},
		{"prefix longer than value", filter(nil, map[string]string{"type": "com.acme.order.created.v2"}), false},
		{"prefix differs", filter(nil, map[string]string{"type": "org.acme."}), false},
		{"prefix empty string", filter(nil, map[string]string{"source": ""}), true},
		{"prefix extension", filter(nil, map[string]string{"tenant": "acme-"}), true},
		{"prefix extension differs", filter(nil, map[string]string{"tenant": "globex-"}), false},
		{"prefix missing attribute", filter(nil, map[string]string{"region": ""}), false},
		{"prefix missing subject-like", filter(nil, map[string]string{"datacontenttype": ""}), false},
		{"exact and prefix both match", filter(map[string]string{"priority": "high"}, map[string]string{"source": "/orders/"}), true},
		{"exact matches, prefix does not", filter(map[string]string{"priority": "high"}, map[string]string{"source": "/payments/"}), false},
		{"prefix matches, exact does not", filter(map[string]string{"priority": "low"}, map[string]string{"source": "/orders/"}), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Matches(tc.f, e); got != tc.want {
				t.Fatalf("Matches(%+v) = %v, want %v", tc.f, got, tc.want)
			}
		})
	}
}

func TestEventID(t *testing.T) {
	ev := func(source, id string) *cloudevent.Event {
		return &cloudevent.Event{SpecVersion: "1.0", ID: id, Source: source, Type: "t"}
	}
	base := EventID(ev("/a", "1"))
	if len(base) != 32 {
		t.Fatalf("EventID = %q, want 32 hex characters", base)
	}
	// Stable: same source and id, other attributes differ.
	other := ev("/a", "1")
	other.Type = "another"
	other.Data = []byte("x")
	other.SetExtension("k", "v")
	mustEqual(t, "EventID of the same source and id", EventID(other), base)
	mustEqual(t, "EventID again", EventID(ev("/a", "1")), base)
	differ := []struct {
		name string
		e    *cloudevent.Event
	}{
		{"other source", ev("/b", "1")},
		{"other id", ev("/a", "2")},
		{"source and id swapped", ev("1", "/a")},
		{"boundary moved", ev("/a1", "")},
		{"boundary moved the other way", ev("/", "a1")},
	}
	seen := map[string]string{base: "base"}
	for _, d := range differ {
		id := EventID(d.e)
		if prev, dup := seen[id]; dup {
			t.Fatalf("EventID(%s) = EventID(%s) = %s", d.name, prev, id)
		}
		seen[id] = d.name
	}
}

func TestOutputID(t *testing.T) {
	base := OutputID("ns/p/v", []string{"in1", "in2"}, 0)
	mustEqual(t, "OutputID again", OutputID("ns/p/v", []string{"in1", "in2"}, 0), base)
	cases := []struct {
		name   string
		vertex string
		inputs []string
		i      int
	}{
		{"index 1", "ns/p/v", []string{"in1", "in2"}, 1},
		{"index 10", "ns/p/v", []string{"in1", "in2"}, 10},
		{"other vertex", "ns/p/w", []string{"in1", "in2"}, 0},
		{"other namespace", "ns2/p/v", []string{"in1", "in2"}, 0},
		{"other input", "ns/p/v", []string{"in1", "in3"}, 0},
		{"fewer inputs", "ns/p/v", []string{"in1"}, 0},
		{"more inputs", "ns/p/v", []string{"in1", "in2", "in3"}, 0},
		{"no inputs", "ns/p/v", nil, 0},
		{"inputs joined", "ns/p/v", []string{"in1in2"}, 0},
		{"inputs split differently", "ns/p/v", []string{"in", "1in2"}, 0},
		{"vertex absorbs the index", "ns/p/v0", []string{"in1", "in2"}, 0},
		{"dead-letter vertex", "ns/p/v/deadletter", []string{"in1", "in2"}, 0},
	}
	seen := map[string]string{base: "base"}
	for _, tc := range cases {
		id := OutputID(tc.vertex, tc.inputs, tc.i)
		if prev, dup := seen[id]; dup {
			t.Fatalf("OutputID(%s) = OutputID(%s) = %s", tc.name, prev, id)
		}
		seen[id] = tc.name
		mustEqual(t, "OutputID("+tc.name+") again", OutputID(tc.vertex, tc.inputs, tc.i), id)
	}
	// The index is part of the hash, not dropped.
	if OutputID("v", []string{"x"}, 0) == hashID("v", "x") {
		t.Fatal("OutputID ignores the index")
	}
	// Computing an id must not modify the caller's slice.
	inputs := make([]string, 2, 8)
	inputs[0], inputs[1] = "a", "b"
	_ = OutputID("v", inputs[:1], 0)
	mustEqual(t, "caller's inputs[1]", inputs[1], "b")
}

// TestWriteRoutes checks writeRoutes against real buffers: filters, fan-out,
// dedup ids and the no-route cases.
func TestWriteRoutes(t *testing.T) {
	store := newStore(t)
	a := openBuffer(t, store, "wr_a")
	b := openBuffer(t, store, "wr_b")
	routes := []Route{
		{To: "a", Out: a, Filter: filter(map[string]string{"type": "dev.freshet.test"}, nil)},
		{To: "b", Out: b, Filter: filter(nil, map[string]string{"tenant": "acme"})},
	}
	e1, e2, e3 := testEvent(1), testEvent(2), testEvent(3)
	e2.SetExtension("tenant", "acme-eu")
	e3.Type = "other"
	events := []*cloudevent.Event{e1, e2, e3}
	ids := []string{"id1", "id2", "id3"}
	ctx := context.Background()
	if err := writeRoutes(ctx, routes, events, ids); err != nil {
		t.Fatalf("writeRoutes: %v", err)
	}
	// e1→a, e2→a and b, e3 nowhere
	mustEqual(t, "a pending", pending(t, a), int64(2))
	mustEqual(t, "b pending", pending(t, b), int64(1))
	// The same ids again are dropped as duplicates.
	if err := writeRoutes(ctx, routes, events, ids); err != nil {
		t.Fatalf("writeRoutes again: %v", err)
	}
	mustEqual(t, "a pending after rewrite", pending(t, a), int64(2))
	mustEqual(t, "b pending after rewrite", pending(t, b), int64(1))
	got := drain(t, b, 1, 10*time.Second)
	mustEqual(t, "b event", got[0].ID, "e2")
	mustEqual(t, "b event tenant", got[0].Extensions["tenant"], "acme-eu")
	for _, tc := range []struct {
		name   string
		routes []Route
		events []*cloudevent.Event
	}{
		{"no routes", nil, events},
		{"no events", routes, nil},
		{"nothing matches", routes, []*cloudevent.Event{e3}},
	} {
		before := pending(t, a) + pending(t, b)
		if err := writeRoutes(ctx, tc.routes, tc.events, ids); err != nil {
			t.Fatalf("%s: writeRoutes: %v", tc.name, err)
		}
		if after := pending(t, a) + pending(t, b); after != before {
			t.Fatalf("%s: %d events written, want none", tc.name, after-before)
		}
	}
}
