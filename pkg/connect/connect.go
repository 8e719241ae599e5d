// Package connect opens the sources and sinks of external systems (Kafka,
// SQS, Pulsar) a Vertex names. The data plane serves HTTP sources and log and HTTP
// sinks itself; freshet dev and the activator give it these for the rest.
package connect

import (
	"context"
	"errors"
	"time"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
	"github.com/freshetproj/freshet/pkg/sink"
	kafkasink "github.com/freshetproj/freshet/pkg/sink/kafka"
	pulsarsink "github.com/freshetproj/freshet/pkg/sink/pulsar"
	sqssink "github.com/freshetproj/freshet/pkg/sink/sqs"
	"github.com/freshetproj/freshet/pkg/source"
	kafkasource "github.com/freshetproj/freshet/pkg/source/kafka"
	pulsarsource "github.com/freshetproj/freshet/pkg/source/pulsar"
	sqssource "github.com/freshetproj/freshet/pkg/source/sqs"
)

// Timeout bounds connecting to a system.
const Timeout = 30 * time.Second

// OpenSource connects source vertex v (defaulted) to its system.
func OpenSource(v *v1alpha1.Vertex) (source.Source, error) {
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	switch s := v.Spec.Source; {
	case s.Kafka != nil:
		return opened[source.Source](kafkasource.Open(ctx, s.Kafka, ConsumerGroup(v)))
	case s.SQS != nil:
		return opened[source.Source](sqssource.Open(ctx, s.SQS))
	case s.Pulsar != nil:
		return opened[source.Source](pulsarsource.Open(ctx, s.Pulsar, Subscription(v)))
	}
	return nil, errors.New("the source has no kind this build can open")
}

// OpenSink connects sink vertex v (defaulted) to its system.
func OpenSink(v *v1alpha1.Vertex) (sink.Sink, error) {
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	switch s := v.Spec.Sink; {
	case s.Kafka != nil:
		return opened[sink.Sink](kafkasink.Open(ctx, s.Kafka))
	case s.SQS != nil:
		return opened[sink.Sink](sqssink.Open(ctx, s.SQS))
	case s.Pulsar != nil:
		return opened[sink.Sink](pulsarsink.Open(ctx, s.Pulsar))
	}
	return nil, errors.New("the sink has no kind this build can open")
}

// opened returns what an Open returned as the interface I, and a nil
// interface (not one holding a nil pointer) when it failed.
func opened[I any, T any](v T, err error) (I, error) {
	var zero I
	if err != nil {
		return zero, err
	}
	return any(v).(I), nil
}

// ConsumerGroup is a Kafka source vertex's group: its own, or
// freshet.<namespace>.<pipeline>.<vertex>.
func ConsumerGroup(v *v1alpha1.Vertex) string {
	if g := v.Spec.Source.Kafka.ConsumerGroup; g != "" {
		return g
	}
	return defaultConsumer(v)
}

// Subscription is a Pulsar source vertex's subscription: its own, or
// freshet.<namespace>.<pipeline>.<vertex>.
func Subscription(v *v1alpha1.Vertex) string {
	if s := v.Spec.Source.Pulsar.Subscription; s != "" {
		return s
	}
	return defaultConsumer(v)
}

// defaultConsumer names a source vertex as a consumer of its system: every
// router running the vertex shares the name, and so the messages.
func defaultConsumer(v *v1alpha1.Vertex) string {
	return "freshet." + v.Namespace + "." + v.Spec.PipelineName + "." + v.Spec.Name
}
