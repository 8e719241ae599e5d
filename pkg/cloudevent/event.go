// Package cloudevent holds Freshet's CloudEvent: the value that flows through
// every pipeline, with spec-correct HTTP encodings (binary, structured,
// batch) and the compact record form stored in the buffer.
//
// Freshet does not use the CloudEvents Go SDK here: sdk-go v2.16.2 neither
// percent-decodes ce- header values nor rejects invalid UTF-8 or events with
// both data and data_base64, which the spec requires.
package cloudevent

// Event is one CloudEvent (spec version 1.0). Every attribute is held in its
// canonical string form, as binary-mode HTTP headers carry it.
type Event struct {
	SpecVersion     string
	ID              string
	Source          string
	Type            string
	Subject         string // optional
	Time            string // optional, RFC 3339
	DataContentType string // optional
	DataSchema      string // optional, URI
	// Extensions maps extension attribute names (lower-case a-z0-9, at most
	// 20 characters recommended) to their values.
	Extensions map[string]string
	// Data is the event payload as bytes, nil when the event has no data.
	Data []byte
}

// Get returns the value of the named attribute (core or extension) and
// whether it is set.
func (e *Event) Get(name string) (string, bool) {
	var v string
	switch name {
	case "specversion":
		v = e.SpecVersion
	case "id":
		v = e.ID
	case "source":
		v = e.Source
	case "type":
		v = e.Type
	case "subject":
		v = e.Subject
	case "time":
		v = e.Time
	case "datacontenttype":
		v = e.DataContentType
	case "dataschema":
		v = e.DataSchema
	default:
		ext, ok := e.Extensions[name]
		return ext, ok
	}
	return v, v != ""
}

// SetExtension sets an extension attribute, allocating the map if needed.
func (e *Event) SetExtension(name, value string) {
	if e.Extensions == nil {
		e.Extensions = map[string]string{}
	}
	e.Extensions[name] = value
}

// Clone returns a deep copy of e.
func (e *Event) Clone() *Event {
	c := *e
	if e.Extensions != nil {
		c.Extensions = make(map[string]string, len(e.Extensions))
		for k, v := range e.Extensions {
			c.Extensions[k] = v
		}
	}
	if e.Data != nil {
		// Keep empty-but-non-nil Data non-nil: append to nil would give nil.
		c.Data = append(make([]byte, 0, len(e.Data)), e.Data...)
	}
	return &c
}
