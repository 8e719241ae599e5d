package cloudevent

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// ReadRequest reads the CloudEvents an HTTP request carries, in binary,
// structured or batch mode (chosen by Content-Type), and validates them. A
// body longer than maxBytes (DefaultMaxBytes if <= 0) gives an error
// wrapping ErrTooLarge; bad input gives a *ValidationError (possibly
// wrapped). An empty batch gives no events and no error.
func ReadRequest(r *http.Request, maxBytes int64) ([]*Event, error) {
	return readMessage(r.Header, r.Body, r.ContentLength, maxBytes, false)
}

// ReadResponse reads the CloudEvents in a function's reply, like
// ReadRequest, except that an empty body without ce- headers is a reply of
// zero events (the function filtered its input). It does not look at the
// status code and does not close the body.
func ReadResponse(resp *http.Response, maxBytes int64) ([]*Event, error) {
	return readMessage(resp.Header, resp.Body, resp.ContentLength, maxBytes, true)
}

func readMessage(h http.Header, body io.Reader, contentLength, maxBytes int64, reply bool) ([]*Event, error) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	data, err := readBody(body, contentLength, maxBytes)
	if err != nil {
		return nil, err
	}
	ct := h.Get("Content-Type")
	switch base := mediaBase(ct); {
	case base == StructuredContentType:
		e, err := parseStructured(data)
		if err != nil {
			return nil, err
		}
		return []*Event{e}, nil
	case base == BatchContentType:
		return parseBatch(data)
	case strings.HasPrefix(base, "application/cloudevents"):
		return nil, invalid("", "unsupported CloudEvents format %q: only JSON is supported", base)
	}
	if !hasCEHeader(h) {
		if reply && len(data) == 0 {
			return nil, nil
		}
		return nil, invalid("", "not a CloudEvent: no ce- headers and Content-Type %q is not a CloudEvents format", ct)
	}
	e, err := parseBinary(h, data)
	if err != nil {
		return nil, err
	}
	return []*Event{e}, nil
}

// readBody reads at most max bytes of body. It returns nil for an empty body.
func readBody(body io.Reader, contentLength, max int64) ([]byte, error) {
	if body == nil || body == http.NoBody {
		return nil, nil
	}
	if contentLength > max {
		return nil, tooLarge(max)
	}
	size := int64(512)
	if contentLength >= 0 {
		size = contentLength + 1 // room to see EOF without growing
	}
	buf := make([]byte, 0, size)
	lr := io.LimitReader(body, max+1)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := lr.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return nil, tooLarge(mbe.Limit)
			}
			return nil, fmt.Errorf("cloudevent: reading body: %w", err)
		}
	}
	if int64(len(buf)) > max {
		return nil, tooLarge(max)
	}
	if len(buf) == 0 {
		return nil, nil
	}
	return buf, nil
}

func tooLarge(max int64) error {
	return fmt.Errorf("body exceeds %d bytes: %w", max, ErrTooLarge)
}

// hasCEHeader reports whether h has any ce- header.
func hasCEHeader(h http.Header) bool {
	for name := range h {
		if isCEHeader(name) {
			return true
		}
	}
	return false
}

func isCEHeader(name string) bool {
	return len(name) > 3 && name[2] == '-' && name[0]|0x20 == 'c' && name[1]|0x20 == 'e'
}
