package cloudevent

import (
	"maps"
	"testing"
)

// TestSetEachRoundTrip: every attribute Each reports, Set restores, and
// the event validates; datacontenttype stays out of Each.
func TestSetEachRoundTrip(t *testing.T) {
	e := &Event{SpecVersion: "1.0", ID: "a", Source: "/s", Type: "t", Subject: "sub", Time: "2026-11-21T00:00:00Z",
		DataSchema: "https://x/schema", DataContentType: "application/json", Extensions: map[string]string{"partitionkey": "k"}}
	got := map[string]string{}
	e.Each(func(n, v string) { got[n] = v })
	want := map[string]string{"specversion": "1.0", "id": "a", "source": "/s", "type": "t", "subject": "sub",
		"time": "2026-11-21T00:00:00Z", "dataschema": "https://x/schema", "partitionkey": "k"}
	if !maps.Equal(got, want) {
		t.Fatalf("Each = %v, want %v", got, want)
	}
	c := &Event{DataContentType: "application/json"}
	for n, v := range got {
		c.Set(n, v)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	for n, v := range want {
		if g, _ := c.Get(n); g != v {
			t.Errorf("%s = %q after Set, want %q", n, g, v)
		}
	}
}

func TestUnmarshalJSON(t *testing.T) {
	e, err := UnmarshalJSON([]byte(`{"specversion":"1.0","id":"1","source":"/s","type":"t","data":{"a":1}}`))
	if err != nil || e.ID != "1" || string(e.Data) != `{"a":1}` {
		t.Fatalf("UnmarshalJSON = %+v, %v", e, err)
	}
	if _, err := UnmarshalJSON([]byte(`{"specversion":"1.0","source":"/s","type":"t"}`)); err == nil {
		t.Fatal("an event without id was accepted")
	}
}
