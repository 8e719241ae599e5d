package local

import (
	"bytes"
	"fmt"
	"io"
	"sync"
)

// maxLine is the longest line kept whole; longer output is split into lines of this size.
const maxLine = 64 << 10

// lineWriter writes whole lines to a shared destination, each with a prefix, so lines
// of concurrent replicas never interleave. It is used by one goroutine at a time.
type lineWriter struct {
	prefix string
	dst    io.Writer
	mu     *sync.Mutex // shared by all writers to dst
	buf    []byte
}

// Write buffers p and writes out every complete line.
func (w *lineWriter) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	for {
		if i := bytes.IndexByte(w.buf, '\n'); i >= 0 {
			w.emit(w.buf[:i])
			w.buf = w.buf[i+1:]
			continue
		}
		if len(w.buf) >= maxLine {
			w.emit(w.buf[:maxLine])
			w.buf = w.buf[maxLine:]
			continue
		}
		break
	}
	if len(w.buf) == 0 {
		w.buf = nil // let a long line's storage go
	}
	return len(p), nil
}

// flush writes out a last line that ended without a newline.
func (w *lineWriter) flush() {
	if len(w.buf) > 0 {
		w.emit(w.buf)
		w.buf = nil
	}
}

func (w *lineWriter) emit(line []byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	fmt.Fprintf(w.dst, "%s%s\n", w.prefix, bytes.TrimSuffix(line, []byte("\r")))
}
