package cloudevent

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

func TestRecordRoundTrip(t *testing.T) {
	events := roundTripEvents()
	events["zero"] = &Event{}
	events["empty data"] = with(func(e *Event) { e.Data = []byte{} })
	events["empty extensions"] = with(func(e *Event) { e.Extensions = map[string]string{} })
	events["invalid event kept as is"] = &Event{ID: "\xff", Extensions: map[string]string{"Bad Name": "\x00"}}
	for name, e := range events {
		t.Run(name, func(t *testing.T) {
			b := MarshalRecord(e)
			if b[0] != recordVersion {
				t.Fatalf("version byte = %d", b[0])
			}
			got, err := UnmarshalRecord(b)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, e) {
				t.Fatalf("round trip =\n %+v\nwant\n %+v", got, e)
			}
			if (got.Data == nil) != (e.Data == nil) || (got.Extensions == nil) != (e.Extensions == nil) {
				t.Fatal("nil-ness of Data or Extensions changed")
			}
			if again := MarshalRecord(got); !bytes.Equal(again, b) {
				t.Fatal("encoding is not deterministic")
			}
			if len(got.Data) > 0 {
				b[len(b)-1] ^= 0xff
				if got.Data[len(got.Data)-1] == b[len(b)-1] {
					t.Fatal("decoded Data aliases the record")
				}
			}
		})
	}
}

func TestUnmarshalRecordRejects(t *testing.T) {
	good := MarshalRecord(validEvent())
	tests := map[string][]byte{
		"empty":            nil,
		"version":          append([]byte{2}, good[1:]...),
		"unknown flag":     append([]byte{1, 0x80}, good[2:]...),
		"truncated":        good[:len(good)-1],
		"trailing":         append(append([]byte{}, good...), 0),
		"length too long":  {1, 0, 200},
		"non-minimal":      {1, 0, 0x80, 0},
		"unsorted ext":     {1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 2, 1, 'b', 0, 1, 'a', 0},
		"duplicate ext":    {1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 2, 1, 'a', 0, 1, 'a', 0},
		"ext without flag": {1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 'a', 0},
		"huge ext count":   {1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f},
	}
	for name, b := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := UnmarshalRecord(b); !errors.Is(err, ErrCorruptRecord) {
				t.Fatalf("UnmarshalRecord = %v, want ErrCorruptRecord", err)
			}
		})
	}
}

func TestRecordAllocations(t *testing.T) {
	e := validEvent()
	b := MarshalRecord(e)
	if n := testing.AllocsPerRun(100, func() { MarshalRecord(e) }); n > 1 {
		t.Errorf("MarshalRecord allocates %v times, want 1", n)
	}
	// Event, strings, map (+ bucket), extension spans, data.
	if n := testing.AllocsPerRun(100, func() { _, _ = UnmarshalRecord(b) }); n > 6 {
		t.Errorf("UnmarshalRecord allocates %v times, want <= 6", n)
	}
}
