package scaler

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the scaler's Prometheus metrics. A nil *Metrics records
// nothing.
type Metrics struct {
	backlog   *prometheus.GaugeVec
	inflight  *prometheus.GaugeVec
	waiting   *prometheus.GaugeVec
	desired   *prometheus.GaugeVec
	ready     *prometheus.GaugeVec
	decisions *prometheus.CounterVec
}

// NewMetrics registers the scaler's metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	gauge := func(name, help string) *prometheus.GaugeVec {
		return prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, []string{"function"})
	}
	m := &Metrics{
		backlog:  gauge("freshet_function_backlog", "Events waiting for the function (buffer pending, including in flight), at the last decision."),
		inflight: gauge("freshet_function_inflight", "Requests in flight to the function's replicas, at the last decision."),
		waiting:  gauge("freshet_function_waiting", "Synchronous requests held for a replica, at the last decision."),
		desired:  gauge("freshet_function_replicas_desired", "Replicas the scaler decided on."),
		ready:    gauge("freshet_function_replicas_ready", "Replicas ready, at the last decision."),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "freshet_scale_decisions_total",
			Help: "Scale decisions by direction (up, down, hold).",
		}, []string{"function", "direction"}),
	}
	reg.MustRegister(m.backlog, m.inflight, m.waiting, m.desired, m.ready, m.decisions)
	return m
}

func (m *Metrics) observe(fn string, o Observation, desired int) {
	if m == nil {
		return
	}
	m.backlog.WithLabelValues(fn).Set(float64(o.Backlog))
	m.inflight.WithLabelValues(fn).Set(float64(o.InFlight))
	m.waiting.WithLabelValues(fn).Set(float64(o.Waiting))
	m.desired.WithLabelValues(fn).Set(float64(desired))
	m.ready.WithLabelValues(fn).Set(float64(o.Ready))
}

func (m *Metrics) decided(fn, direction string) {
	if m != nil {
		m.decisions.WithLabelValues(fn, direction).Inc()
	}
}
