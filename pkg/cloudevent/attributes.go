package cloudevent

// Set sets the named attribute, core or extension; an empty value unsets a
// core attribute. Decoders of other bindings (Kafka headers, SQS message
// attributes) use it, then Validate.
func (e *Event) Set(name, value string) {
	switch name {
	case "specversion":
		e.SpecVersion = value
	case "id":
		e.ID = value
	case "source":
		e.Source = value
	case "type":
		e.Type = value
	case "subject":
		e.Subject = value
	case "time":
		e.Time = value
	case "datacontenttype":
		e.DataContentType = value
	case "dataschema":
		e.DataSchema = value
	default:
		e.SetExtension(name, value)
	}
}

// Each calls f for every attribute that is set, core then extensions,
// except datacontenttype, which bindings carry as their own content type.
func (e *Event) Each(f func(name, value string)) {
	for _, a := range [...]struct{ name, value string }{
		{"specversion", e.SpecVersion}, {"id", e.ID}, {"source", e.Source}, {"type", e.Type},
		{"subject", e.Subject}, {"time", e.Time}, {"dataschema", e.DataSchema},
	} {
		if a.value != "" {
			f(a.name, a.value)
		}
	}
	for name, value := range e.Extensions {
		f(name, value)
	}
}

// UnmarshalJSON parses one event in the CloudEvents JSON format (structured
// mode) and validates it; an error is a *ValidationError naming the
// attribute at fault.
func UnmarshalJSON(b []byte) (*Event, error) { return parseStructured(b) }
