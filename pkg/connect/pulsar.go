package connect

import (
	"context"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
	"github.com/freshetproj/freshet/pkg/sink"
	pulsarsink "github.com/freshetproj/freshet/pkg/sink/pulsar"
	"github.com/freshetproj/freshet/pkg/source"
	pulsarsource "github.com/freshetproj/freshet/pkg/source/pulsar"
)

func openPulsarSource(ctx context.Context, spec *v1alpha1.PulsarSource, sub string) (source.Source, error) {
	return pulsarsource.Open(ctx, spec, sub)
}

func openPulsarSink(ctx context.Context, spec *v1alpha1.PulsarSink) (sink.Sink, error) {
	return pulsarsink.Open(ctx, spec)
}
