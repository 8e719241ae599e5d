package local

import (
	"strings"
	"sync"
	"testing"
)

func TestLineWriter(t *testing.T) {
	tests := []struct {
		name   string
		writes []string
		want   string
	}{
		{"one line", []string{"hello\n"}, "[f-1] hello\n"},
		{"split across writes", []string{"hel", "lo\nwor", "ld\n"}, "[f-1] hello\n[f-1] world\n"},
		{"last line without newline", []string{"a\nb"}, "[f-1] a\n[f-1] b\n"},
		{"crlf", []string{"a\r\n"}, "[f-1] a\n"},
		{"empty line", []string{"\n"}, "[f-1] \n"},
		{"overlong line is split", []string{strings.Repeat("x", maxLine+1)},
			"[f-1] " + strings.Repeat("x", maxLine) + "\n[f-1] x\n"},
	}
	for _, tt := range tests {
		var b strings.Builder
		w := &lineWriter{prefix: "[f-1] ", dst: &b, mu: &sync.Mutex{}}
		for _, s := range tt.writes {
			w.Write([]byte(s))
		}
		w.flush()
		if got := b.String(); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}
