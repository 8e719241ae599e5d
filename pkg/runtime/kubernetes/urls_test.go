package kubernetes

import (
	"slices"
	"testing"

	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/utils/ptr"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
)

func ep(addr string, ready, serving, terminating *bool) discoveryv1.Endpoint {
	return discoveryv1.Endpoint{
		Addresses:  []string{addr},
		Conditions: discoveryv1.EndpointConditions{Ready: ready, Serving: serving, Terminating: terminating},
	}
}

func slice(port *discoveryv1.EndpointPort, eps ...discoveryv1.Endpoint) discoveryv1.EndpointSlice {
	s := discoveryv1.EndpointSlice{Endpoints: eps}
	if port != nil {
		s.Ports = []discoveryv1.EndpointPort{*port}
	}
	return s
}

func port(name string, n int32) *discoveryv1.EndpointPort {
	return &discoveryv1.EndpointPort{Name: ptr.To(name), Port: ptr.To(n)}
}

func TestURLs(t *testing.T) {
	yes, no := ptr.To(true), ptr.To(false)
	http := port("http", 8080)
	tests := []struct {
		name   string
		slices []discoveryv1.EndpointSlice
		want   []string
	}{
		{"no slices", nil, []string{}},
		{"empty slice", []discoveryv1.EndpointSlice{slice(http)}, []string{}},
		{"ready", []discoveryv1.EndpointSlice{slice(http, ep("10.0.0.1", yes, yes, no))}, []string{"http://10.0.0.1:8080"}},
		{"ready unset counts as ready", []discoveryv1.EndpointSlice{slice(http, ep("10.0.0.1", nil, nil, nil))}, []string{"http://10.0.0.1:8080"}},
		{"not ready", []discoveryv1.EndpointSlice{slice(http, ep("10.0.0.1", no, no, no))}, []string{}},
		{"not ready but serving", []discoveryv1.EndpointSlice{slice(http, ep("10.0.0.1", no, yes, nil))}, []string{}},
		{"terminating and serving", []discoveryv1.EndpointSlice{slice(http, ep("10.0.0.1", no, yes, yes))}, []string{}},
		{"terminating with ready unset", []discoveryv1.EndpointSlice{slice(http, ep("10.0.0.1", nil, nil, yes))}, []string{}},
		{"mixed, sorted", []discoveryv1.EndpointSlice{slice(http,
			ep("10.0.0.3", yes, yes, no), ep("10.0.0.2", no, no, no), ep("10.0.0.1", yes, yes, no))},
			[]string{"http://10.0.0.1:8080", "http://10.0.0.3:8080"}},
		{"several slices merged and deduplicated", []discoveryv1.EndpointSlice{
			slice(http, ep("10.0.0.2", yes, yes, no), ep("10.0.0.1", yes, yes, no)),
			slice(http, ep("10.0.0.1", yes, yes, no), ep("10.0.0.4", no, yes, yes)),
			slice(port("http", 9090), ep("10.0.0.9", yes, yes, no)),
		}, []string{"http://10.0.0.1:8080", "http://10.0.0.2:8080", "http://10.0.0.9:9090"}},
		{"IPv6 bracketed", []discoveryv1.EndpointSlice{slice(http, ep("fd00::1", yes, yes, no))}, []string{"http://[fd00::1]:8080"}},
		{"first address only", []discoveryv1.EndpointSlice{slice(http, discoveryv1.Endpoint{Addresses: []string{"10.0.0.1", "10.0.0.2"}})},
			[]string{"http://10.0.0.1:8080"}},
		{"no addresses", []discoveryv1.EndpointSlice{slice(http, discoveryv1.Endpoint{})}, []string{}},
		{"missing port", []discoveryv1.EndpointSlice{slice(nil, ep("10.0.0.1", yes, yes, no))}, []string{}},
		{"other port name", []discoveryv1.EndpointSlice{slice(port("metrics", 9000), ep("10.0.0.1", yes, yes, no))}, []string{}},
		{"unnamed port", []discoveryv1.EndpointSlice{slice(&discoveryv1.EndpointPort{Port: ptr.To[int32](8080)}, ep("10.0.0.1", yes, yes, no))}, []string{}},
		{"port number unset", []discoveryv1.EndpointSlice{slice(&discoveryv1.EndpointPort{Name: ptr.To("http")}, ep("10.0.0.1", yes, yes, no))}, []string{}},
		{"http port among others", []discoveryv1.EndpointSlice{{
			Ports:     []discoveryv1.EndpointPort{*port("metrics", 9000), *http},
			Endpoints: []discoveryv1.Endpoint{ep("10.0.0.1", yes, yes, no)},
		}}, []string{"http://10.0.0.1:8080"}},
		{"slice without port beside one with", []discoveryv1.EndpointSlice{
			slice(nil, ep("10.0.0.1", yes, yes, no)), slice(http, ep("10.0.0.2", yes, yes, no)),
		}, []string{"http://10.0.0.2:8080"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := URLs(tt.slices)
			if got == nil || !slices.Equal(got, tt.want) {
				t.Errorf("URLs = %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestObjectNames(t *testing.T) {
	for _, tt := range []struct {
		name, kind, ns, obj string
	}{
		{FunctionName("ns", "fn"), "Function", "ns", "fn"},
		{VertexName("ns", "p-v"), "Vertex", "ns", "p-v"},
		{"", "", "", ""},
		{"fn", "", "", ""},
		{"/fn", "", "", ""},
		{"ns/", "", "", ""},
		{"ns/a/b", "", "", ""},
		{"vertex:fn", "", "", ""},
	} {
		obj, err := object(tt.name)
		if tt.kind == "" {
			if err == nil {
				t.Errorf("object(%q): no error", tt.name)
			}
			continue
		}
		if err != nil {
			t.Fatalf("object(%q): %v", tt.name, err)
		}
		var kind string
		switch obj.(type) {
		case *v1alpha1.Function:
			kind = "Function"
		case *v1alpha1.Vertex:
			kind = "Vertex"
		}
		if kind != tt.kind {
			t.Errorf("object(%q) is a %s, want a %s", tt.name, kind, tt.kind)
		}
		if obj.GetNamespace() != tt.ns || obj.GetName() != tt.obj {
			t.Errorf("object(%q) = %s/%s, want %s/%s", tt.name, obj.GetNamespace(), obj.GetName(), tt.ns, tt.obj)
		}
	}
}
