package cloudevent

import (
	"net/http"
	"strings"
)

// parseBinary builds an event from binary-mode headers and body.
func parseBinary(h http.Header, body []byte) (*Event, error) {
	e := &Event{Data: body}
	var seen uint8 // core attributes already set, to catch duplicates
	for name, values := range h {
		if !isCEHeader(name) {
			continue
		}
		attr, bit := binaryAttr(name[3:])
		if len(values) != 1 {
			return nil, invalid(attr, "header ce-%s appears %d times", attr, len(values))
		}
		v, problem := percentDecode(values[0])
		if problem != "" {
			return nil, invalid(attr, "%s", problem)
		}
		if bit != 0 {
			if seen&bit != 0 {
				return nil, invalid(attr, "header appears more than once")
			}
			seen |= bit
		}
		switch attr {
		case "specversion":
			e.SpecVersion = v
		case "id":
			e.ID = v
		case "source":
			e.Source = v
		case "type":
			e.Type = v
		case "subject":
			e.Subject = v
		case "time":
			e.Time = v
		case "dataschema":
			e.DataSchema = v
		case "datacontenttype":
			return nil, invalid(attr, "must be sent as Content-Type in binary mode, not as a ce- header")
		default:
			if _, dup := e.Extensions[attr]; dup {
				return nil, invalid(attr, "header appears more than once")
			}
			e.SetExtension(attr, v)
		}
	}
	if ct := h["Content-Type"]; len(ct) > 0 {
		if len(ct) > 1 {
			return nil, invalid("datacontenttype", "Content-Type appears %d times", len(ct))
		}
		e.DataContentType = ct[0]
	}
	if err := e.Validate(); err != nil {
		return nil, err
	}
	return e, nil
}

// coreAttrs are the core attribute names a binary-mode header may carry, in
// the order of their duplicate-detection bits.
var coreAttrs = [...]string{"specversion", "id", "source", "type", "subject", "time", "dataschema", "datacontenttype"}

// binaryAttr returns the lower-case attribute name for the part of a header
// name after "ce-", without allocating for core attributes, and the
// attribute's duplicate-detection bit (0 for extensions).
func binaryAttr(s string) (string, uint8) {
	for i, a := range coreAttrs {
		if len(a) == len(s) && strings.EqualFold(a, s) {
			return a, 1 << i
		}
	}
	return strings.ToLower(s), 0
}
