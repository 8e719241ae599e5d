// Package crd checks the generated CRDs against a real kube-apiserver: every
// validation rule rejects a bad object with a message naming the field.
package crd

import (
	"context"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/freshetproj/freshet/test/envtest"
)

func TestMain(m *testing.M) { envtest.Main(m) }

const goodFunction = `
apiVersion: freshet.dev/v1alpha1
kind: Function
metadata: {name: fn}
spec:
  container: {image: ghcr.io/example/fn:1}
`

const goodPipeline = `
apiVersion: freshet.dev/v1alpha1
kind: Pipeline
metadata: {name: pl}
spec:
  vertices:
    - {name: in, source: {http: {}}}
    - {name: fn, function: {ref: {name: fn}}}
    - {name: out, sink: {log: {}}}
  edges:
    - {from: in, to: fn}
    - {from: fn, to: out}
`

// TestRules applies each bad object with kubectl and checks the API
// server's answer names the field and the problem.
func TestRules(t *testing.T) {
	env := envtest.Shared(t)
	ns := env.Namespace(t)
	cases := []struct {
		name     string
		base     string
		patch    string // YAML merged into base's spec
		wantPath string
		wantMsg  string
	}{
		{"min above max", goodFunction, `scale: {min: 3, max: 2}`, "spec.scale.min", "min must not be greater than max"},
		{"negative min", goodFunction, `scale: {min: -1}`, "spec.scale.min", "greater than or equal to 0"},
		{"container without image or command", goodFunction, `container: {args: [x]}`, "spec.container", "container needs an image or a command"},
		{"bad port", goodFunction, `container: {image: x, port: 70000}`, "spec.container.port", "less than or equal to 65535"},
		{"bad health path", goodFunction, `container: {image: x, healthPath: healthz}`, "spec.container.healthPath", "should match"},
		{"zero idle timeout", goodFunction, `scale: {idleTimeout: 0s}`, "spec.scale.idleTimeout", "must be a positive duration"},
		{"negative window", goodFunction, `scale: {scaleDownWindow: -1s}`, "spec.scale.scaleDownWindow", "not negative"},
		{"unparsable duration", goodFunction, `delivery: {timeout: soon}`, "spec.delivery.timeout", ""},
		{"retry too high", goodFunction, `delivery: {retry: 101}`, "spec.delivery.retry", "less than or equal to 100"},
		{"bad backoff policy", goodFunction, `delivery: {backoffPolicy: random}`, "spec.delivery.backoffPolicy", "Unsupported value"},
		{"dead-letter sink without ref or uri", goodFunction, `delivery: {deadLetterSink: {}}`, "spec.delivery.deadLetterSink", "a destination needs a ref or a uri"},
		{"batch of zero", goodFunction, `batch: {maxSize: 0}`, "spec.batch.maxSize", "greater than or equal to 1"},
		{"vertex of two kinds", goodPipeline, `vertices: [{name: in, source: {http: {}}, sink: {log: {}}}]
edges: []`, "spec.vertices[0]", "exactly one of source, function or sink"},
		{"vertex of no kind", goodPipeline, `vertices: [{name: in}]
edges: []`, "spec.vertices[0]", "exactly one of source, function or sink"},
		{"duplicate vertex names", goodPipeline, `vertices: [{name: a, source: {http: {}}}, {name: a, sink: {log: {}}}]
edges: []`, "spec.vertices[1]", "Duplicate value"},
		{"edge from an unknown vertex", goodPipeline, `edges: [{from: nope, to: out}]`, "spec.edges", "every edge's from must name a vertex"},
		{"edge to an unknown vertex", goodPipeline, `edges: [{from: in, to: nope}]`, "spec.edges", "every edge's to must name a vertex"},
		{"edge into a source", goodPipeline, `edges: [{from: fn, to: in}]`, "spec.edges", "a source vertex cannot have incoming edges"},
		{"edge out of a sink", goodPipeline, `edges: [{from: out, to: fn}]`, "spec.edges", "a sink vertex cannot have outgoing edges"},
		{"function vertex with ref and spec", goodPipeline, `vertices: [{name: fn, function: {ref: {name: fn}, spec: {container: {image: x}}}}]
edges: []`, "spec.vertices[0].function", "exactly one of ref or spec"},
		{"sink of two kinds", goodPipeline, `vertices: [{name: out, sink: {log: {}, http: {uri: "http://x"}}}]
edges: []`, "spec.vertices[0].sink", "a sink is exactly one of log, http, kafka, sqs or pulsar"},
		{"source of two kinds", goodPipeline, `vertices: [{name: in, source: {http: {}, sqs: {queueURL: "http://q"}}}]
edges: []`, "spec.vertices[0].source", "a source is exactly one of http, kafka, sqs or pulsar"},
		{"kafka source without topics", goodPipeline, `vertices: [{name: in, source: {kafka: {brokers: ["k:9092"], topics: []}}}]
edges: []`, "spec.vertices[0].source.kafka.topics", "should have at least 1 items"},
		{"kafka source with a bad initial offset", goodPipeline, `vertices: [{name: in, source: {kafka: {brokers: ["k:9092"], topics: [t], initialOffset: middle}}}]
edges: []`, "spec.vertices[0].source.kafka.initialOffset", "Unsupported value"},
		{"kafka sink with a bad mode", goodPipeline, `vertices: [{name: out, sink: {kafka: {brokers: ["k:9092"], topic: t, mode: json}}}]
edges: []`, "spec.vertices[0].sink.kafka.mode", "Unsupported value"},
		{"pulsar source with a kafka URL", goodPipeline, `vertices: [{name: in, source: {pulsar: {serviceURL: "kafka://k:9092", topics: [t]}}}]
edges: []`, "spec.vertices[0].source.pulsar.serviceURL", "should match"},
		{"pulsar source with a bad subscription type", goodPipeline, `vertices: [{name: in, source: {pulsar: {serviceURL: "pulsar://p:6650", topics: [t], subscriptionType: Exclusive}}}]
edges: []`, "spec.vertices[0].source.pulsar.subscriptionType", "Unsupported value"},
		{"pulsar source with two tokens", goodPipeline, `vertices: [{name: in, source: {pulsar: {serviceURL: "pulsar://p:6650", topics: [t], auth: {tokenEnv: T, tokenFile: /t}}}}]
edges: []`, "spec.vertices[0].source.pulsar.auth", "exactly one of tokenEnv or tokenFile"},
		{"pulsar sink without a topic", goodPipeline, `vertices: [{name: out, sink: {pulsar: {serviceURL: "pulsar://p:6650", topic: ""}}}]
edges: []`, "spec.vertices[0].sink.pulsar.topic", "should be at least 1 chars long"},
		{"bad vertex name", goodPipeline, `vertices: [{name: Bad_Name, sink: {log: {}}}]
edges: []`, "spec.vertices[0].name", "should match"},
		{"bad desired phase", goodPipeline, `lifecycle: {desiredPhase: Sleeping}`, "spec.lifecycle.desiredPhase", "Unsupported value"},
		{"inline function min above max", goodPipeline, `vertices: [{name: fn, function: {spec: {container: {image: x}, scale: {min: 5, max: 1}}}}]
edges: []`, "spec.vertices[0].function.spec.scale.min", "min must not be greater than max"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			obj := merge(t, tc.base, tc.patch)
			out, err := env.KubectlApply(context.Background(), obj, "-n", ns)
			if err == nil {
				t.Fatalf("the API server accepted it:\n%s\n%s", obj, out)
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.wantPath) || !strings.Contains(msg, tc.wantMsg) {
				t.Fatalf("error does not name %q with %q:\n%s", tc.wantPath, tc.wantMsg, msg)
			}
		})
	}
	// And the good objects are accepted.
	for _, obj := range []string{goodFunction, goodPipeline} {
		if out, err := env.KubectlApply(context.Background(), obj, "-n", ns); err != nil {
			t.Fatalf("a good object was refused: %v\n%s", err, out)
		}
	}
}

// merge overlays patch onto base's spec (top-level keys of the spec).
func merge(t *testing.T, base, patch string) string {
	t.Helper()
	var obj map[string]any
	if err := yaml.Unmarshal([]byte(base), &obj); err != nil {
		t.Fatal(err)
	}
	var p map[string]any
	if err := yaml.Unmarshal([]byte(patch), &p); err != nil {
		t.Fatal(err)
	}
	spec := obj["spec"].(map[string]any)
	for k, v := range p {
		spec[k] = v
	}
	out, err := yaml.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}
