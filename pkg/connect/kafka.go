package connect

import (
	"context"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
	"github.com/freshetproj/freshet/pkg/sink"
	kafkasink "github.com/freshetproj/freshet/pkg/sink/kafka"
	"github.com/freshetproj/freshet/pkg/source"
	kafkasource "github.com/freshetproj/freshet/pkg/source/kafka"
)

func openKafkaSource(ctx context.Context, spec *v1alpha1.KafkaSource, group string) (source.Source, error) {
	return kafkasource.Open(ctx, spec, group)
}

func openKafkaSink(ctx context.Context, spec *v1alpha1.KafkaSink) (sink.Sink, error) {
	return kafkasink.Open(ctx, spec)
}
