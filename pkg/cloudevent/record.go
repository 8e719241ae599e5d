package cloudevent

import (
	"encoding/binary"
	"fmt"
	"slices"
)

// recordVersion is the first byte of every record.
const recordVersion = 1

// Record flags (the second byte).
const (
	flagData       = 1 << 0 // Data is non-nil
	flagExtensions = 1 << 1 // Extensions is non-nil
	knownFlags     = flagData | flagExtensions
)

// MarshalRecord encodes e in the compact binary form stored in the buffer:
//
//	version byte (1) | flags byte | 8 core attributes | uvarint extension
//	count | extensions sorted by name | data (if flagData)
//
// where every string and the data are a uvarint length followed by the
// bytes. The encoding is deterministic and UnmarshalRecord restores e
// exactly, including nil versus empty Data and Extensions.
func MarshalRecord(e *Event) []byte {
	core := [...]string{e.SpecVersion, e.ID, e.Source, e.Type, e.Subject, e.Time, e.DataContentType, e.DataSchema}
	var flags byte
	size := 2 + binary.MaxVarintLen64
	for _, s := range core {
		size += binary.MaxVarintLen64 + len(s)
	}
	var keyBuf [8]string
	names := keyBuf[:0]
	if e.Extensions != nil {
		flags |= flagExtensions
		for name, v := range e.Extensions {
			names = append(names, name)
			size += 2*binary.MaxVarintLen64 + len(name) + len(v)
		}
		slices.Sort(names)
	}
	if e.Data != nil {
		flags |= flagData
		size += binary.MaxVarintLen64 + len(e.Data)
	}
	b := make([]byte, 0, size)
	b = append(b, recordVersion, flags)
	for _, s := range core {
		b = appendString(b, s)
	}
	b = binary.AppendUvarint(b, uint64(len(names)))
	for _, name := range names {
		b = appendString(b, name)
		b = appendString(b, e.Extensions[name])
	}
	if e.Data != nil {
		b = binary.AppendUvarint(b, uint64(len(e.Data)))
		b = append(b, e.Data...)
	}
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// UnmarshalRecord decodes a record written by MarshalRecord. The event does
// not alias b. Bytes MarshalRecord could not have written give an error
// wrapping ErrCorruptRecord.
func UnmarshalRecord(b []byte) (*Event, error) {
	if len(b) < 2 {
		return nil, corrupt("truncated header")
	}
	if b[0] != recordVersion {
		return nil, corrupt("unknown version %d", b[0])
	}
	flags := b[1]
	if flags&^knownFlags != 0 {
		return nil, corrupt("unknown flags %#x", flags)
	}
	r := recordReader{b: b, off: 2}
	// First pass: find where the strings end, so that one string conversion
	// backs every attribute.
	var spans [8][2]int
	for i := range spans {
		spans[i] = r.span()
	}
	nExt := r.uvarint()
	if r.err == "" && nExt > uint64(len(b)) {
		r.err = "extension count out of range"
	}
	extSpans := make([][2]int, 0, 2*min(nExt, uint64(len(b))))
	for i := uint64(0); i < nExt && r.err == ""; i++ {
		extSpans = append(extSpans, r.span(), r.span())
	}
	var data [2]int
	if flags&flagData != 0 {
		data = r.span()
	}
	if r.err == "" && r.off != len(b) {
		r.err = "trailing bytes"
	}
	if r.err != "" {
		return nil, corrupt("%s", r.err)
	}
	strs := string(b[:data[0]])
	if flags&flagData == 0 {
		strs = string(b)
	}
	str := func(s [2]int) string { return strs[s[0]:s[1]] }
	e := &Event{
		SpecVersion: str(spans[0]), ID: str(spans[1]), Source: str(spans[2]), Type: str(spans[3]),
		Subject: str(spans[4]), Time: str(spans[5]), DataContentType: str(spans[6]), DataSchema: str(spans[7]),
	}
	if flags&flagExtensions != 0 {
		e.Extensions = make(map[string]string, nExt)
		prev := ""
		for i := 0; i < len(extSpans); i += 2 {
			name := str(extSpans[i])
			if i > 0 && name <= prev {
				return nil, corrupt("extension names not strictly sorted")
			}
			prev = name
			e.Extensions[name] = str(extSpans[i+1])
		}
	} else if nExt != 0 {
		return nil, corrupt("extensions without the extensions flag")
	}
	if flags&flagData != 0 {
		e.Data = append(make([]byte, 0, data[1]-data[0]), b[data[0]:data[1]]...)
	}
	return e, nil
}

func corrupt(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrCorruptRecord, fmt.Sprintf(format, args...))
}

// recordReader walks a record, remembering the first problem.
type recordReader struct {
	b   []byte
	off int
	err string
}

// uvarint reads a minimally encoded uvarint.
func (r *recordReader) uvarint() uint64 {
	if r.err != "" {
		return 0
	}
	v, n := binary.Uvarint(r.b[r.off:])
	if n <= 0 {
		r.err = "bad length at offset " + fmt.Sprint(r.off)
		return 0
	}
	if n > 1 && r.b[r.off+n-1] == 0 {
		r.err = "non-minimal length at offset " + fmt.Sprint(r.off)
		return 0
	}
	r.off += n
	return v
}

// span reads a length and returns the [start, end) of the bytes it covers.
func (r *recordReader) span() [2]int {
	n := r.uvarint()
	if r.err != "" {
		return [2]int{}
	}
	if n > uint64(len(r.b)-r.off) {
		r.err = "length past end of record"
		return [2]int{}
	}
	start := r.off
	r.off += int(n)
	return [2]int{start, r.off}
}
