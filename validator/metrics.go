package validator

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the validator's Prometheus metrics.
type Metrics struct {
	stepSeconds prometheus.Histogram
	evaluated   prometheus.Counter
	failures    *prometheus.CounterVec
	block       prometheus.Gauge
	queue       *prometheus.GaugeVec
	weights     *prometheus.GaugeVec
	weightsSet  prometheus.Gauge
}

// NewMetrics registers the metrics with reg (nil: a private registry, for tests).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m := &Metrics{
		stepSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "pretrain_validator_step_seconds",
			Help: "Duration of evaluation steps.", Buckets: prometheus.ExponentialBuckets(1, 2, 14)}),
		evaluated: prometheus.NewCounter(prometheus.CounterOpts{Name: "pretrain_validator_models_evaluated_total",
			Help: "Models evaluated."}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pretrain_validator_failures_total",
			Help: "Failures by kind: rejected, crash, timeout, sanity, load, step, weights."}, []string{"reason"}),
		block: prometheus.NewGauge(prometheus.GaugeOpts{Name: "pretrain_validator_block", Help: "Current block."}),
		queue: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "pretrain_validator_queue_uids",
			Help: "Uids waiting for evaluation, pending or current."}, []string{"queue"}),
		weights: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "pretrain_validator_last_weight",
			Help: "Last weights set on chain (u16), by uid."}, []string{"uid"}),
		weightsSet: prometheus.NewGauge(prometheus.GaugeOpts{Name: "pretrain_validator_last_weights_block",
			Help: "Block at which weights were last set."}),
	}
	reg.MustRegister(m.stepSeconds, m.evaluated, m.failures, m.block, m.queue, m.weights, m.weightsSet)
	return m
}

func (m *Metrics) observeStep(rec *StepRecord) { m.stepSeconds.Observe(rec.Timings.Total) }

func (m *Metrics) observeWeights(r WeightsRecord) {
	m.weights.Reset()
	for i, uid := range r.UIDs {
		m.weights.WithLabelValues(strconv.Itoa(int(uid))).Set(float64(r.Weights[i]))
	}
	m.weightsSet.Set(float64(r.Block))
}
