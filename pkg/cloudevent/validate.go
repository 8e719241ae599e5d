package cloudevent

import (
	"strings"
	"time"
	"unicode/utf8"
)

// SpecVersion is the only CloudEvents spec version Freshet accepts.
const SpecVersion = "1.0"

// isCoreName reports whether name is a core context attribute (or one of the
// names reserved by the JSON format), which extensions may not use.
func isCoreName(name string) bool {
	switch name {
	case "specversion", "id", "source", "type", "subject", "time",
		"datacontenttype", "dataschema", "data", "data_base64":
		return true
	}
	return false
}

// Validate checks e against the CloudEvents 1.0 rules. It returns a
// *ValidationError (with Index -1) naming the first attribute at fault.
func (e *Event) Validate() error {
	switch {
	case e.SpecVersion == "":
		return invalid("specversion", "required but missing")
	case e.SpecVersion != SpecVersion:
		return invalid("specversion", "unsupported version %q, want %q", e.SpecVersion, SpecVersion)
	}
	required := [...]struct{ name, value string }{{"id", e.ID}, {"source", e.Source}, {"type", e.Type}}
	for _, a := range required {
		if a.value == "" {
			return invalid(a.name, "required but missing")
		}
	}
	strs := [...]struct{ name, value string }{
		{"id", e.ID}, {"source", e.Source}, {"type", e.Type}, {"subject", e.Subject},
		{"time", e.Time}, {"datacontenttype", e.DataContentType}, {"dataschema", e.DataSchema},
	}
	for _, a := range strs {
		if p := stringProblem(a.value); p != "" {
			return invalid(a.name, "%s", p)
		}
	}
	if p := uriRefProblem(e.Source); p != "" {
		return invalid("source", "not a URI-reference: %s", p)
	}
	if e.Time != "" && !validTime(e.Time) {
		return invalid("time", "not an RFC 3339 timestamp: %q", e.Time)
	}
	if e.DataSchema != "" {
		if p := absoluteURIProblem(e.DataSchema); p != "" {
			return invalid("dataschema", "not an absolute URI: %s", p)
		}
	}
	if e.DataContentType != "" {
		if _, ok := parseMediaType(e.DataContentType); !ok {
			return invalid("datacontenttype", "not a valid media type: %q", e.DataContentType)
		}
	}
	return e.validateExtensions()
}

// validateExtensions reports the problem with the lowest-named bad extension,
// so that the error does not depend on map order.
func (e *Event) validateExtensions() error {
	var bad *ValidationError
	for name, value := range e.Extensions {
		if bad != nil && name >= bad.Attribute {
			continue
		}
		if p := extensionNameProblem(name); p != "" {
			bad = invalid(name, "%s", p)
		} else if p := stringProblem(value); p != "" {
			bad = invalid(name, "%s", p)
		}
	}
	if bad != nil {
		return bad
	}
	return nil
}

// extensionNameProblem returns why name cannot be an extension name, or "".
func extensionNameProblem(name string) string {
	if name == "" {
		return "empty extension name"
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return "invalid extension name: only lower-case letters a-z and digits 0-9 are allowed"
		}
	}
	if isCoreName(name) {
		return "reserved name cannot be an extension"
	}
	return ""
}

// ValidString reports whether s is a CloudEvents String: valid UTF-8
// without control characters or Unicode noncharacters. Sources use it for
// values from their systems (a message key) before making them extensions.
func ValidString(s string) bool { return stringProblem(s) == "" }

// stringProblem returns why s is not a CloudEvents String, or "": it must be
// valid UTF-8 without control characters or Unicode noncharacters.
func stringProblem(s string) string {
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < 0x7f {
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			return "not valid UTF-8"
		case r < 0x20 || (r >= 0x7f && r <= 0x9f):
			return "contains a control character"
		case (r >= 0xfdd0 && r <= 0xfdef) || r&0xfffe == 0xfffe:
			return "contains a Unicode noncharacter"
		}
		i += size
	}
	return ""
}

// validTime reports whether s is an RFC 3339 date-time.
func validTime(s string) bool {
	if strings.ContainsRune(s, ',') {
		return false // Go accepts a comma before fractional seconds; RFC 3339 does not.
	}
	if strings.ContainsAny(s, "tz") {
		s = strings.ToUpper(s) // RFC 3339 allows lower-case "t" and "z".
	}
	_, err := time.Parse(time.RFC3339Nano, s)
	return err == nil
}
