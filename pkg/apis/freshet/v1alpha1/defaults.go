package v1alpha1

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Default values of optional fields, as the field doc comments state.
// SetDefaults fills them in; code elsewhere (the scaler, the router, the
// local runtime) may rely on them being set after defaulting.
const (
	// DefaultNamespace is the namespace of an object that names none.
	DefaultNamespace = "default"

	// DefaultScaleMin is Scale.Min: a function scales to zero when idle.
	DefaultScaleMin int32 = 0
	// DefaultScaleMax is Scale.Max.
	DefaultScaleMax int32 = 10
	// DefaultTargetBacklog is Scale.TargetBacklog, in events per replica.
	DefaultTargetBacklog int32 = 10
	// DefaultContainerConcurrency is Scale.ContainerConcurrency, in events
	// in flight per replica.
	DefaultContainerConcurrency int32 = 8
	// DefaultIdleTimeout is Scale.IdleTimeout.
	DefaultIdleTimeout = 30 * time.Second
	// DefaultScaleDownWindow is Scale.ScaleDownWindow.
	DefaultScaleDownWindow = 30 * time.Second
	// DefaultActivationTimeout is Scale.ActivationTimeout.
	DefaultActivationTimeout = 60 * time.Second
	// DefaultMaxWaiting is Scale.MaxWaiting, in requests.
	DefaultMaxWaiting int32 = 1000

	// DefaultRetry is Delivery.Retry (so 4 attempts in all).
	DefaultRetry int32 = 3
	// DefaultBackoffPolicy is Delivery.BackoffPolicy.
	DefaultBackoffPolicy = BackoffExponential
	// DefaultBackoffDelay is Delivery.BackoffDelay.
	DefaultBackoffDelay = 200 * time.Millisecond
	// DefaultDeliveryTimeout is Delivery.Timeout, per attempt.
	DefaultDeliveryTimeout = 30 * time.Second

	// DefaultBatchMaxWait is Batch.MaxWait.
	DefaultBatchMaxWait = 10 * time.Millisecond

	// DefaultPort is Container.Port.
	DefaultPort int32 = 8080
	// DefaultHealthPath is Container.HealthPath.
	DefaultHealthPath = "/healthz"

	// DefaultPhase is Lifecycle.DesiredPhase.
	DefaultPhase = PhaseRunning
)

// SetDefaults fills in the unset optional fields of a Function.
func (f *Function) SetDefaults() {
	if f.Namespace == "" {
		f.Namespace = DefaultNamespace
	}
	f.Spec.SetDefaults()
}

// SetDefaults fills in the unset optional fields of a function spec.
func (s *FunctionSpec) SetDefaults() {
	s.Container.SetDefaults()
	s.Scale.SetDefaults()
	s.Delivery.SetDefaults()
	if s.Batch != nil {
		s.Batch.SetDefaults()
	}
}

// SetDefaults sets the port and health path. WorkingDir is left alone: it is
// resolved by whatever runs the container (see pkg/manifest for freshet dev).
func (c *Container) SetDefaults() {
	if c.Port == 0 {
		c.Port = DefaultPort
	}
	if c.HealthPath == "" {
		c.HealthPath = DefaultHealthPath
	}
}

// SetDefaults fills in the unset scale settings.
func (s *Scale) SetDefaults() {
	setInt32(&s.Min, DefaultScaleMin)
	setInt32(&s.Max, DefaultScaleMax)
	setInt32(&s.TargetBacklog, DefaultTargetBacklog)
	setInt32(&s.ContainerConcurrency, DefaultContainerConcurrency)
	setDuration(&s.IdleTimeout, DefaultIdleTimeout)
	setDuration(&s.ScaleDownWindow, DefaultScaleDownWindow)
	setDuration(&s.ActivationTimeout, DefaultActivationTimeout)
	setInt32(&s.MaxWaiting, DefaultMaxWaiting)
}

// SetDefaults fills in the unset retry settings. A dead-letter sink has no
// default: without one, failed events are logged and dropped.
func (d *Delivery) SetDefaults() {
	setInt32(&d.Retry, DefaultRetry)
	if d.BackoffPolicy == "" {
		d.BackoffPolicy = DefaultBackoffPolicy
	}
	setDuration(&d.BackoffDelay, DefaultBackoffDelay)
	setDuration(&d.Timeout, DefaultDeliveryTimeout)
}

// SetDefaults sets the batch wait; MaxSize has no default.
func (b *Batch) SetDefaults() {
	setDuration(&b.MaxWait, DefaultBatchMaxWait)
}

// SetDefaults fills in the unset optional fields of a Pipeline, including
// its inline function specs and its sinks' delivery.
func (p *Pipeline) SetDefaults() {
	if p.Namespace == "" {
		p.Namespace = DefaultNamespace
	}
	p.Spec.SetDefaults()
}

// SetDefaults defaults every vertex and the lifecycle.
func (s *PipelineSpec) SetDefaults() {
	for i := range s.Vertices {
		s.Vertices[i].SetDefaults()
	}
	s.Lifecycle.SetDefaults()
}

// SetDefaults defaults an inline function spec and a sink's delivery; a
// function given by reference is defaulted where it is resolved.
func (v *PipelineVertex) SetDefaults() {
	if v.Source != nil {
		v.Source.SetDefaults()
	}
	if v.Function != nil && v.Function.Spec != nil {
		v.Function.Spec.SetDefaults()
	}
	if v.Sink != nil {
		v.Sink.SetDefaults()
	}
}

// Kafka settings' values and defaults.
const (
	KafkaEarliest   = "earliest"
	KafkaLatest     = "latest"
	KafkaBinary     = "binary"
	KafkaStructured = "structured"
	// DefaultKafkaEventType is the type of a wrapped plain Kafka record.
	DefaultKafkaEventType = "dev.freshet.kafka.record"
	// DefaultSQSEventType is the type of a wrapped plain SQS message.
	DefaultSQSEventType = "dev.freshet.sqs.message"
	// DefaultSQSVisibilityTimeout is SQSSource.VisibilityTimeout.
	DefaultSQSVisibilityTimeout = 30 * time.Second
)

// Pulsar settings' values and defaults.
const (
	PulsarShared    = "Shared"
	PulsarKeyShared = "Key_Shared"
	PulsarFailover  = "Failover"
	// DefaultPulsarEventType is the type of a wrapped plain Pulsar message.
	DefaultPulsarEventType = "dev.freshet.pulsar.message"
)

// SetDefaults fills in a source's unset optional fields.
func (s *Source) SetDefaults() {
	if k := s.Kafka; k != nil {
		if k.InitialOffset == "" {
			k.InitialOffset = KafkaEarliest
		}
		if k.EventType == "" {
			k.EventType = DefaultKafkaEventType
		}
	}
	if q := s.SQS; q != nil {
		setDuration(&q.VisibilityTimeout, DefaultSQSVisibilityTimeout)
		if q.EventType == "" {
			q.EventType = DefaultSQSEventType
		}
		if q.EventSource == "" {
			q.EventSource = q.QueueURL
		}
	}
	if p := s.Pulsar; p != nil {
		if p.SubscriptionType == "" {
			p.SubscriptionType = PulsarShared
		}
		if p.InitialPosition == "" {
			p.InitialPosition = KafkaEarliest
		}
		if p.EventType == "" {
			p.EventType = DefaultPulsarEventType
		}
	}
}

// SetDefaults gives a sink the default delivery policy when it has none and
// fills in the unset fields of the one it has.
func (s *Sink) SetDefaults() {
	if s.Kafka != nil && s.Kafka.Mode == "" {
		s.Kafka.Mode = KafkaBinary
	}
	if s.Pulsar != nil && s.Pulsar.Mode == "" {
		s.Pulsar.Mode = KafkaBinary
	}
	if s.Delivery == nil {
		s.Delivery = &Delivery{}
	}
	s.Delivery.SetDefaults()
}

// SetDefaults sets the desired phase to Running when unset.
func (l *Lifecycle) SetDefaults() {
	if l.DesiredPhase == "" {
		l.DesiredPhase = DefaultPhase
	}
}

// SetDefaults fills in the unset optional fields of a Vertex. Vertices made
// by the pipeline builder are already defaulted; this makes one read from
// elsewhere safe to use.
func (v *Vertex) SetDefaults() {
	if v.Namespace == "" {
		v.Namespace = DefaultNamespace
	}
	if v.Spec.Source != nil {
		v.Spec.Source.SetDefaults()
	}
	if v.Spec.Function != nil {
		v.Spec.Function.SetDefaults()
	}
	if v.Spec.Sink != nil {
		v.Spec.Sink.SetDefaults()
	}
	v.Spec.Lifecycle.SetDefaults()
}

func setInt32(p **int32, v int32) {
	if *p == nil {
		*p = &v
	}
}

func setDuration(p **metav1.Duration, v time.Duration) {
	if *p == nil {
		*p = &metav1.Duration{Duration: v}
	}
}
