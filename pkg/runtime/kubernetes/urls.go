package kubernetes

import (
	"net"
	"slices"
	"strconv"

	discoveryv1 "k8s.io/api/discovery/v1"
)

// PortName is the name of the Service port (and so of the EndpointSlice
// port) a function serves CloudEvents on.
const PortName = "http"

// URLs returns the base URLs (http://<address>:<port>) of the endpoints of
// the slices in that take traffic, sorted and without duplicates; never nil.
//
// An endpoint takes traffic when it is ready and not terminating. Ready
// unset counts as ready, as the EndpointSlice API asks consumers to do.
// Serving is ignored: it only differs from Ready for terminating endpoints,
// which are left out anyway so that they drain. Only an endpoint's first
// address is used (the API says its addresses are fungible). A slice
// without a port named PortName, or with that port's number unset,
// contributes nothing. IPv6 addresses are bracketed.
func URLs(in []discoveryv1.EndpointSlice) []string {
	urls := []string{}
	for i := range in {
		s := &in[i]
		port, ok := httpPort(s)
		if !ok {
			continue
		}
		for _, ep := range s.Endpoints {
			if !takesTraffic(ep) || len(ep.Addresses) == 0 || ep.Addresses[0] == "" {
				continue
			}
			urls = append(urls, "http://"+net.JoinHostPort(ep.Addresses[0], strconv.Itoa(int(port))))
		}
	}
	slices.Sort(urls)
	return slices.Compact(urls)
}

func httpPort(s *discoveryv1.EndpointSlice) (int32, bool) {
	for _, p := range s.Ports {
		if p.Name != nil && *p.Name == PortName && p.Port != nil && *p.Port > 0 {
			return *p.Port, true
		}
	}
	return 0, false
}

func takesTraffic(ep discoveryv1.Endpoint) bool {
	c := ep.Conditions
	if c.Terminating != nil && *c.Terminating {
		return false
	}
	return c.Ready == nil || *c.Ready
}
