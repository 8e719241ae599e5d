// Package manifest loads Functions and Pipelines from YAML files for
// freshet dev: strictly decoded, defaulted and validated, with every error
// naming the file, the document, the object and the field.
package manifest

import (
	"errors"
	"fmt"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
)

// Set is everything loaded from a set of files, in file order and then
// document order.
type Set struct {
	Functions []Object[*v1alpha1.Function]
	Pipelines []Object[*v1alpha1.Pipeline]
}

// Object is one loaded object and where it was declared.
type Object[T any] struct {
	Origin
	Object T
}

// Origin is where an object was declared: a file, as given to Load or found
// below a directory given to Load, and the 1-based number of the YAML
// document in it.
type Origin struct {
	File     string
	Document int
}

// String is "<file>: document <n>".
func (o Origin) String() string {
	return fmt.Sprintf("%s: document %d", o.File, o.Document)
}

// Error is one problem with one document. Err is usually a
// *field.Error naming the field.
type Error struct {
	Origin
	// Kind and Name are the object's, when known.
	Kind, Name string
	Err        error
}

// Error is "<file>: document <n> (<Kind> "<name>"): <problem>".
func (e *Error) Error() string {
	if e.Kind == "" {
		return fmt.Sprintf("%s: %v", e.Origin, e.Err)
	}
	return fmt.Sprintf("%s (%s %q): %v", e.Origin, e.Kind, e.Name, e.Err)
}

// Unwrap returns the problem.
func (e *Error) Unwrap() error { return e.Err }

// Load reads Functions and Pipelines from paths, each a file or a directory
// (every *.yaml and *.yml file below it, in lexical order, skipping
// directories whose names start with '.'). A file may hold several YAML
// documents; empty ones are skipped. Every document must be a
// freshet.dev/v1alpha1 Function or Pipeline, decoded strictly (an unknown
// or duplicate field, or a value of the wrong type, is an error), then
// defaulted and validated.
//
// For freshet dev, a container's workingDir that is empty or relative is
// resolved against the directory of the file that declared it, for
// Functions and for inline function specs of Pipelines.
//
// Load reports every problem it finds in every file, joined with
// errors.Join: a path that cannot be read as the file system error, every
// problem with a document as an *Error, including a kind, namespace and name
// declared twice and a pipeline's reference to a Function that no file
// declares. It returns a Set only when there is no problem.
func Load(paths ...string) (*Set, error) {
	if len(paths) == 0 {
		return nil, errors.New("manifest: no files given")
	}
	files, err := expand(paths)
	if err != nil {
		return nil, err
	}
	l := &loader{}
	for _, file := range files {
		l.loadFile(file)
	}
	l.checkDuplicates()
	_, refErrs := l.set.vertices(l.validPipelines)
	l.errs = append(l.errs, refErrs...)
	if len(l.errs) > 0 {
		return nil, errors.Join(l.errs...)
	}
	return &l.set, nil
}

// loader collects objects and errors across files.
type loader struct {
	set  Set
	errs []error
	// validPipelines indexes the pipelines in set that validated, whose
	// function references are checked once every file is read.
	validPipelines []int
}

func (l *loader) fail(o Origin, kind, name string, err error) {
	l.errs = append(l.errs, &Error{Origin: o, Kind: kind, Name: name, Err: err})
}

// checkDuplicates reports every object whose kind, namespace and name an
// earlier one already had.
func (l *loader) checkDuplicates() {
	first := make(map[string]Origin)
	check := func(o Origin, kind, namespace, name string) {
		key := kind + "/" + namespace + "/" + name
		if prev, dup := first[key]; dup {
			l.fail(o, kind, name, fmt.Errorf("%s %s/%s is already declared in %s", kind, namespace, name, prev))
			return
		}
		first[key] = o
	}
	for _, f := range l.set.Functions {
		check(f.Origin, v1alpha1.KindFunction, f.Object.Namespace, f.Object.Name)
	}
	for _, p := range l.set.Pipelines {
		check(p.Origin, v1alpha1.KindPipeline, p.Object.Namespace, p.Object.Name)
	}
}
