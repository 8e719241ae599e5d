package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// GroupVersion is the API group and version of every Freshet resource.
var GroupVersion = schema.GroupVersion{Group: "freshet.dev", Version: "v1alpha1"}

var (
	// SchemeBuilder registers the Freshet types with a runtime.Scheme.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)
	// AddToScheme adds the Freshet types to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

func addKnownTypes(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion,
		&Function{}, &FunctionList{},
		&Pipeline{}, &PipelineList{},
		&Vertex{}, &VertexList{},
	)
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}
