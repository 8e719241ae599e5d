package cloudevent

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// percentDecode decodes RFC 3986 %XX escapes in a binary-mode header value.
// It rejects a malformed escape and a result that is not valid UTF-8.
func percentDecode(s string) (string, string) {
	i := strings.IndexByte(s, '%')
	if i < 0 {
		if !utf8.ValidString(s) {
			return "", "not valid UTF-8"
		}
		return s, ""
	}
	b := make([]byte, 0, len(s))
	b = append(b, s[:i]...)
	for ; i < len(s); i++ {
		c := s[i]
		if c != '%' {
			b = append(b, c)
			continue
		}
		if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
			return "", "malformed percent-encoding at byte " + strconv.Itoa(i)
		}
		b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
		i += 2
	}
	if !utf8.Valid(b) {
		return "", "percent-decoded value is not valid UTF-8"
	}
	return string(b), ""
}

func unhex(c byte) byte {
	if c <= '9' {
		return c - '0'
	}
	return c | 0x20 - 'a' + 10
}

// needsEscape reports whether the HTTP binding requires c to be
// percent-encoded in a header value: space, double quote, percent and every
// byte outside printable ASCII.
func needsEscape(c byte) bool {
	return c <= 0x20 || c >= 0x7f || c == '"' || c == '%'
}

// percentEncode encodes s for a binary-mode header value.
func percentEncode(s string) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if needsEscape(s[i]) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	const hex = "0123456789ABCDEF"
	b := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if needsEscape(c) {
			b = append(b, '%', hex[c>>4], hex[c&15])
		} else {
			b = append(b, c)
		}
	}
	return string(b)
}
