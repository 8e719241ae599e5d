package cloudevent

import (
	"bytes"
	"net/http"
	"testing"
)

// rereader is a request body that can be rewound without allocating.
type rereader struct{ bytes.Reader }

func (*rereader) Close() error { return nil }

func BenchmarkReadBinary1KiB(b *testing.B) {
	e := validEvent()
	e.Data = bytes.Repeat([]byte("x"), 1024)
	e.DataContentType = "application/octet-stream"
	r, err := http.NewRequest(http.MethodPost, "http://x/", nil)
	if err != nil {
		b.Fatal(err)
	}
	WriteBinary(r.Header, e)
	r.Header = r.Header.Clone()
	for k, v := range r.Header {
		delete(r.Header, k)
		r.Header[http.CanonicalHeaderKey(k)] = v
	}
	body := &rereader{}
	r.Body, r.ContentLength = body, int64(len(e.Data))
	b.SetBytes(int64(len(e.Data)))
	b.ReportAllocs()
	for b.Loop() {
		body.Reset(e.Data)
		events, err := ReadRequest(r, 1<<20)
		if err != nil || len(events[0].Data) != 1024 {
			b.Fatal(err)
		}
	}
}

func BenchmarkRecordRoundTrip(b *testing.B) {
	e := validEvent()
	e.Data = bytes.Repeat([]byte("x"), 1024)
	b.SetBytes(int64(len(e.Data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := UnmarshalRecord(MarshalRecord(e)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMarshalJSON(b *testing.B) {
	e := validEvent()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := MarshalJSON(e); err != nil {
			b.Fatal(err)
		}
	}
}
