package connect

import (
	"context"
	"errors"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
	"github.com/freshetproj/freshet/pkg/sink"
	"github.com/freshetproj/freshet/pkg/source"
)

// Kafka is wired in once pkg/source/kafka and pkg/sink/kafka land.
func openKafkaSource(ctx context.Context, spec *v1alpha1.KafkaSource, group string) (source.Source, error) {
	return nil, errors.New("kafka sources are not built yet")
}

func openKafkaSink(ctx context.Context, spec *v1alpha1.KafkaSink) (sink.Sink, error) {
	return nil, errors.New("kafka sinks are not built yet")
}
