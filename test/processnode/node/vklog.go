package node

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"slices"

	vklog "github.com/virtual-kubelet/virtual-kubelet/log"
	vktrace "github.com/virtual-kubelet/virtual-kubelet/trace"
)

// vkLogger sends virtual-kubelet's logs (which it takes from the context)
// to slog.
type vkLogger struct{ l *slog.Logger }

var _ vklog.Logger = vkLogger{}

// withVKLogger makes virtual-kubelet log to l when it runs with ctx.
func withVKLogger(ctx context.Context, l *slog.Logger) context.Context {
	ctx = vktrace.WithTracer(ctx, vkTracer{})
	return vklog.WithLogger(ctx, vkLogger{l.With("component", "virtual-kubelet")})
}

func (v vkLogger) Debug(args ...any)            { v.l.Debug(fmt.Sprint(args...)) }
func (v vkLogger) Debugf(f string, args ...any) { v.l.Debug(fmt.Sprintf(f, args...)) }
func (v vkLogger) Info(args ...any)             { v.l.Info(fmt.Sprint(args...)) }
func (v vkLogger) Infof(f string, args ...any)  { v.l.Info(fmt.Sprintf(f, args...)) }
func (v vkLogger) Warn(args ...any)             { v.l.Warn(fmt.Sprint(args...)) }
func (v vkLogger) Warnf(f string, args ...any)  { v.l.Warn(fmt.Sprintf(f, args...)) }
func (v vkLogger) Error(args ...any)            { v.l.Error(fmt.Sprint(args...)) }
func (v vkLogger) Errorf(f string, args ...any) { v.l.Error(fmt.Sprintf(f, args...)) }

// Fatal keeps the interface's contract (log, then exit), which the node
// package does not use.
func (v vkLogger) Fatal(args ...any) { v.Error(args...); os.Exit(1) }

// Fatalf is Fatal with a format.
func (v vkLogger) Fatalf(f string, args ...any) { v.Errorf(f, args...); os.Exit(1) }

func (v vkLogger) WithField(k string, val any) vklog.Logger { return vkLogger{v.l.With(k, val)} }

func (v vkLogger) WithFields(fields vklog.Fields) vklog.Logger {
	keys := slices.Sorted(maps.Keys(fields))
	args := make([]any, 0, 2*len(keys))
	for _, k := range keys {
		args = append(args, k, fields[k])
	}
	return vkLogger{v.l.With(args...)}
}

func (v vkLogger) WithError(err error) vklog.Logger { return vkLogger{v.l.With("err", err)} }

// vkTracer makes virtual-kubelet's spans carry the context's logger.
// Virtual-kubelet replaces the context's logger with its span's at every
// span, and its default (no-op) spans have none, which would send all its
// logs to its package-global default logger instead of this node's.
type vkTracer struct{}

func (vkTracer) StartSpan(ctx context.Context, _ string) (context.Context, vktrace.Span) {
	return ctx, vkSpan{l: vklog.G(ctx)}
}

type vkSpan struct{ l vklog.Logger }

func (vkSpan) End()                   {}
func (vkSpan) SetStatus(error)        {}
func (s vkSpan) Logger() vklog.Logger { return s.l }

func (vkSpan) WithField(ctx context.Context, k string, v any) context.Context {
	return vklog.WithLogger(ctx, vklog.G(ctx).WithField(k, v))
}

func (vkSpan) WithFields(ctx context.Context, f vklog.Fields) context.Context {
	return vklog.WithLogger(ctx, vklog.G(ctx).WithFields(f))
}
