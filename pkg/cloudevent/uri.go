package cloudevent

import "strings"

// Character classes of RFC 3986, as bit sets over ASCII.
const (
	clsUnreserved = 1 << iota
	clsSubDelim
	clsPathExtra  // ":" "@" "/"
	clsQueryExtra // "?"
	clsAuthExtra  // ":" "@" "[" "]"
)

var uriClass = func() (t [128]uint8) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] |= clsUnreserved
		t[c-'a'+'A'] |= clsUnreserved
	}
	for c := '0'; c <= '9'; c++ {
		t[c] |= clsUnreserved
	}
	for _, c := range "-._~" {
		t[c] |= clsUnreserved
	}
	for _, c := range "!$&'()*+,;=" {
		t[c] |= clsSubDelim
	}
	for _, c := range ":@/" {
		t[c] |= clsPathExtra
	}
	t['?'] |= clsQueryExtra
	for _, c := range ":@[]" {
		t[c] |= clsAuthExtra
	}
	return t
}()

// uriRefProblem returns why s is not an RFC 3986 URI-reference, or "".
func uriRefProblem(s string) string {
	_, p := parseURIRef(s)
	return p
}

// absoluteURIProblem returns why s is not an RFC 3986 URI (with a scheme),
// or "".
func absoluteURIProblem(s string) string {
	hasScheme, p := parseURIRef(s)
	if p == "" && !hasScheme {
		p = "missing scheme"
	}
	return p
}

// parseURIRef splits s as in RFC 3986 appendix B and checks the characters
// of every component.
func parseURIRef(s string) (hasScheme bool, problem string) {
	if i := strings.IndexAny(s, ":/?#"); i >= 0 && s[i] == ':' {
		if !validScheme(s[:i]) {
			return false, "invalid scheme (or a colon in the first path segment)"
		}
		hasScheme, s = true, s[i+1:]
	}
	rest, fragment, hasFragment := strings.Cut(s, "#")
	rest, query, hasQuery := strings.Cut(rest, "?")
	if strings.HasPrefix(rest, "//") {
		end := strings.IndexByte(rest[2:], '/')
		if end < 0 {
			end = len(rest) - 2
		}
		if p := checkChars(rest[2:2+end], clsUnreserved|clsSubDelim|clsAuthExtra, "authority"); p != "" {
			return hasScheme, p
		}
		rest = rest[2+end:]
	}
	if p := checkChars(rest, clsUnreserved|clsSubDelim|clsPathExtra, "path"); p != "" {
		return hasScheme, p
	}
	if hasQuery {
		if p := checkChars(query, clsUnreserved|clsSubDelim|clsPathExtra|clsQueryExtra, "query"); p != "" {
			return hasScheme, p
		}
	}
	if hasFragment {
		if p := checkChars(fragment, clsUnreserved|clsSubDelim|clsPathExtra|clsQueryExtra, "fragment"); p != "" {
			return hasScheme, p
		}
	}
	return hasScheme, ""
}

func validScheme(s string) bool {
	if s == "" || !isAlpha(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !isAlpha(c) && (c < '0' || c > '9') && c != '+' && c != '-' && c != '.' {
			return false
		}
	}
	return true
}

func isAlpha(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

// checkChars reports the first character of s outside the classes in mask,
// or a malformed percent-escape.
func checkChars(s string, mask uint8, component string) string {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' {
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return "malformed percent-escape in " + component
			}
			i += 2
			continue
		}
		if c >= 128 || uriClass[c]&mask == 0 {
			return "character " + quoteChar(s, i) + " not allowed in " + component
		}
	}
	return ""
}

func quoteChar(s string, i int) string {
	c := s[i]
	if c >= 0x20 && c < 0x7f {
		return "'" + string(c) + "'"
	}
	const hex = "0123456789ABCDEF"
	return "0x" + string([]byte{hex[c>>4], hex[c&15]})
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c|0x20 >= 'a' && c|0x20 <= 'f'
}
