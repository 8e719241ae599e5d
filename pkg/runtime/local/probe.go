package local

import (
	"context"
	"io"
	"net/http"
	"time"
)

// probeTimeout bounds one health probe.
const probeTimeout = time.Second

// newProbeClient returns the HTTP client for health probes: no proxy, no redirects
// followed (a redirect is an answer), no idle connections kept.
func newProbeClient() *http.Client {
	return &http.Client{
		Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true},
		Timeout:   probeTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// probe sends one GET to url and reports whether the answer means ready.
func (r *Runtime) probe(ctx context.Context, url string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return false
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return probeReady(resp.StatusCode)
}
