package podrun

import "strings"

// expand replaces every $(NAME) in s by vars[NAME], like Kubernetes does in
// command, args, env values and subPathExpr: "$$" is an escaped "$", a
// reference to an unknown name and an unclosed "$(" stay verbatim, and a "$"
// followed by anything else is kept as is.
func expand(s string, vars map[string]string) string {
	var b strings.Builder
	checkpoint := 0
	for cursor := 0; cursor < len(s); cursor++ {
		if s[cursor] != '$' || cursor+1 >= len(s) {
			continue
		}
		b.WriteString(s[checkpoint:cursor])
		rest := s[cursor+1:]
		advance := 1
		switch rest[0] {
		case '$': // "$$" is an escaped "$".
			b.WriteByte('$')
		case '(':
			end := strings.IndexByte(rest, ')')
			if end < 0 { // Unclosed: keep "$(" and go on after it.
				b.WriteString("$(")
				break
			}
			name := rest[1:end]
			if v, ok := vars[name]; ok {
				b.WriteString(v)
			} else {
				b.WriteString("$(" + name + ")")
			}
			advance = end + 1
		default: // Not a reference: keep "$" and the byte after it.
			b.WriteByte('$')
			b.WriteByte(rest[0])
		}
		cursor += advance
		checkpoint = cursor + 1
	}
	return b.String() + s[checkpoint:]
}
