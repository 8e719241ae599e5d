package cloudevent

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"strconv"
)

// Canonical header keys of the core attributes.
var coreHeaderKeys = [...]string{"Ce-Specversion", "Ce-Id", "Ce-Source", "Ce-Type", "Ce-Subject", "Ce-Time", "Ce-Dataschema"}

// WriteBinary sets the binary-mode headers for e on h: a ce- header per
// attribute (values percent-encoded as the HTTP binding requires) and
// Content-Type from datacontenttype (removed when e has none). It does not
// validate e.
func WriteBinary(h http.Header, e *Event) {
	values := [...]string{e.SpecVersion, e.ID, e.Source, e.Type, e.Subject, e.Time, e.DataSchema}
	for i, v := range values {
		if v != "" {
			h[coreHeaderKeys[i]] = []string{percentEncode(v)}
		} else {
			delete(h, coreHeaderKeys[i])
		}
	}
	for name, v := range e.Extensions {
		h[textproto.CanonicalMIMEHeaderKey("ce-"+name)] = []string{percentEncode(v)}
	}
	if e.DataContentType != "" {
		h["Content-Type"] = []string{e.DataContentType}
	} else {
		delete(h, "Content-Type")
	}
}

// WriteResponse answers with e in binary mode and the given status. A nil e
// writes only the status (use 204 for "no event").
func WriteResponse(w http.ResponseWriter, status int, e *Event) {
	if e == nil {
		w.WriteHeader(status)
		return
	}
	h := w.Header()
	WriteBinary(h, e)
	if e.DataContentType == "" {
		h["Content-Type"] = nil // keep net/http from sniffing one
	}
	h["Content-Length"] = []string{strconv.Itoa(len(e.Data))}
	w.WriteHeader(status)
	if len(e.Data) > 0 {
		_, _ = w.Write(e.Data)
	}
}

// NewRequest returns a POST request carrying e in binary mode, after
// validating e.
func NewRequest(ctx context.Context, url string, e *Event) (*http.Request, error) {
	if err := e.Validate(); err != nil {
		return nil, fmt.Errorf("cloudevent: invalid event: %w", err)
	}
	var body io.Reader
	if len(e.Data) > 0 {
		body = bytes.NewReader(e.Data)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, body)
	if err != nil {
		return nil, fmt.Errorf("cloudevent: %w", err)
	}
	WriteBinary(req.Header, e)
	return req, nil
}

// NewStructuredRequest returns a POST request carrying e in structured mode.
func NewStructuredRequest(ctx context.Context, url string, e *Event) (*http.Request, error) {
	b, err := MarshalJSON(e)
	if err != nil {
		return nil, err
	}
	return newJSONRequest(ctx, url, StructuredContentType, b)
}

// NewBatchRequest returns a POST request carrying events in batch mode.
func NewBatchRequest(ctx context.Context, url string, events []*Event) (*http.Request, error) {
	b, err := MarshalBatch(events)
	if err != nil {
		return nil, err
	}
	return newJSONRequest(ctx, url, BatchContentType, b)
}

func newJSONRequest(ctx context.Context, url, contentType string, body []byte) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("cloudevent: %w", err)
	}
	req.Header.Set("Content-Type", contentType)
	return req, nil
}
