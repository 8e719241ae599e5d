package router

import (
	"time"

	"github.com/freshetproj/freshet/pkg/delivery"
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the router's Prometheus metrics. A nil *Metrics records
// nothing.
type Metrics struct {
	received   *prometheus.CounterVec
	rejected   *prometheus.CounterVec
	attempts   *prometheus.CounterVec
	attemptDur *prometheus.HistogramVec
	coldStart  *prometheus.HistogramVec
}

// NewMetrics registers the router's metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "freshet_ingress_events_total",
			Help: "Events accepted (durably written into the buffers of its edges) by a source vertex.",
		}, []string{"source"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "freshet_ingress_rejected_requests_total",
			Help: "HTTP ingress requests rejected, by status code.",
		}, []string{"code"}),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "freshet_delivery_attempts_total",
			Help: "Delivery attempts by vertex and what followed (done, retry, deadletter).",
		}, []string{"vertex", "outcome"}),
		attemptDur: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "freshet_delivery_attempt_seconds",
			Help:    "Duration of delivery attempts, including the wait for a ready replica.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2.5, 14),
		}, []string{"vertex"}),
		coldStart: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "freshet_cold_start_seconds",
			Help:    "Cold starts: from the first request that found a function with no ready replica to that request's reply.",
			Buckets: prometheus.ExponentialBuckets(0.002, 2, 14),
		}, []string{"function"}),
	}
	reg.MustRegister(m.received, m.rejected, m.attempts, m.attemptDur, m.coldStart)
	return m
}

func (m *Metrics) accepted(source string, n int) {
	if m != nil {
		m.received.WithLabelValues(source).Add(float64(n))
	}
}

func (m *Metrics) reject(code string) {
	if m != nil {
		m.rejected.WithLabelValues(code).Inc()
	}
}

func (m *Metrics) attempt(vertex string, a delivery.Action, d time.Duration) {
	if m != nil {
		m.attempts.WithLabelValues(vertex, a.String()).Inc()
		m.attemptDur.WithLabelValues(vertex).Observe(d.Seconds())
	}
}

// ColdStart records one cold start of fn; it fits Pool.ColdStart.
func (m *Metrics) ColdStart(fn string, d time.Duration) {
	if m != nil {
		m.coldStart.WithLabelValues(fn).Observe(d.Seconds())
	}
}
