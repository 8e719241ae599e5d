package cloudevent

import "strings"

// Media types of the CloudEvents JSON formats.
const (
	// StructuredContentType is the media type of one event in structured mode.
	StructuredContentType = "application/cloudevents+json"
	// BatchContentType is the media type of a JSON array of events.
	BatchContentType = "application/cloudevents-batch+json"
)

// Mode is the HTTP content mode of a CloudEvents message.
type Mode int

// The HTTP content modes.
const (
	Binary Mode = iota
	Structured
	Batch
)

// String returns "binary", "structured" or "batch".
func (m Mode) String() string {
	switch m {
	case Structured:
		return "structured"
	case Batch:
		return "batch"
	}
	return "binary"
}

// ModeOf returns the content mode a Content-Type header value selects:
// media types compare case-insensitively and parameters are ignored.
func ModeOf(contentType string) Mode {
	switch mediaBase(contentType) {
	case StructuredContentType:
		return Structured
	case BatchContentType:
		return Batch
	}
	return Binary
}

// mediaBase returns the lower-case type/subtype of a media type, without
// parameters and surrounding whitespace. It does not validate.
func mediaBase(s string) string {
	if i := strings.IndexByte(s, ';'); i >= 0 {
		s = s[:i]
	}
	return strings.ToLower(strings.TrimSpace(s))
}

// isJSONMediaType reports whether a datacontenttype declares JSON data:
// application/json or any type with the +json suffix.
func isJSONMediaType(ct string) bool {
	base := mediaBase(ct)
	return base == "application/json" || strings.HasSuffix(base, "+json")
}

// isTextMediaType reports whether ct is a text/* type.
func isTextMediaType(ct string) bool {
	return strings.HasPrefix(mediaBase(ct), "text/")
}

// parseMediaType validates s as an RFC 9110 media type (type "/" subtype
// followed by parameters whose values are tokens or quoted strings) and
// returns its lower-case base type.
func parseMediaType(s string) (base string, ok bool) {
	s = strings.Trim(s, " \t")
	n := tokenLen(s)
	if n == 0 || n >= len(s) || s[n] != '/' {
		return "", false
	}
	m := tokenLen(s[n+1:])
	if m == 0 {
		return "", false
	}
	base, rest := s[:n+1+m], s[n+1+m:]
	for {
		rest = strings.TrimLeft(rest, " \t")
		if rest == "" {
			return strings.ToLower(base), true
		}
		if rest[0] != ';' {
			return "", false
		}
		rest = strings.TrimLeft(rest[1:], " \t")
		if rest == "" || rest[0] == ';' {
			continue // empty parameter, allowed by RFC 9110
		}
		k := tokenLen(rest)
		if k == 0 || k >= len(rest) || rest[k] != '=' {
			return "", false
		}
		rest = rest[k+1:]
		if v := tokenLen(rest); v > 0 {
			rest = rest[v:]
		} else if v = quotedLen(rest); v > 0 {
			rest = rest[v:]
		} else {
			return "", false
		}
	}
}

// tokenLen returns the length of the RFC 9110 token at the start of s.
func tokenLen(s string) int {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 128 && (uriClass[c]&clsUnreserved != 0 || strings.IndexByte("!#$%&'*+^`|", c) >= 0) {
			continue
		}
		return i
	}
	return len(s)
}

// quotedLen returns the length of the quoted-string at the start of s, or 0.
func quotedLen(s string) int {
	if s == "" || s[0] != '"' {
		return 0
	}
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			return i + 1
		case c == '\\':
			i++
			if i >= len(s) || (s[i] < 0x20 && s[i] != '\t') || s[i] == 0x7f {
				return 0
			}
		case (c < 0x20 && c != '\t') || c == 0x7f:
			return 0
		}
	}
	return 0
}
