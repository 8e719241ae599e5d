package manifest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"k8s.io/apimachinery/pkg/util/validation/field"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/freshetproj/freshet/pkg/apis/freshet/v1alpha1"
)

// loadFile loads every document of file.
func (l *loader) loadFile(file string) {
	data, err := os.ReadFile(file)
	if err != nil {
		l.errs = append(l.errs, err)
		return
	}
	dir, err := filepath.Abs(filepath.Dir(file))
	if err != nil {
		l.errs = append(l.errs, fmt.Errorf("%s: %w", file, err))
		return
	}
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for n := 1; ; n++ {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return
		}
		origin := Origin{File: file, Document: n}
		if err != nil {
			l.fail(origin, "", "", err)
			return
		}
		l.loadDocument(origin, dir, doc)
	}
}

// header is what is read of a document before its kind is known.
type header struct {
	APIVersion, Kind, Name string
}

// loadDocument decodes, defaults and validates one document declared in a
// file in dir, and adds it to the set unless it could not be decoded.
func (l *loader) loadDocument(o Origin, dir string, doc []byte) {
	data, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		// A duplicate key fails only the strict conversion: name the object.
		var h header
		if lenient, lerr := yaml.YAMLToJSON(doc); lerr == nil {
			h, _ = readHeader(lenient)
		}
		l.fail(o, h.Kind, h.Name, fmt.Errorf("%w (lines counted from the start of the document)", err))
		return
	}
	if string(bytes.TrimSpace(data)) == "null" {
		return // only comments, or nothing
	}
	h, err := readHeader(data)
	if err != nil {
		l.fail(o, "", "", err)
		return
	}
	if errs := checkHeader(h); len(errs) > 0 {
		for _, err := range errs {
			l.fail(o, h.Kind, h.Name, err)
		}
		return
	}
	switch h.Kind {
	case v1alpha1.KindFunction:
		f := &v1alpha1.Function{}
		if !l.decode(o, h, data, f) {
			return
		}
		resolveWorkingDir(&f.Spec.Container, dir)
		f.SetDefaults()
		l.failAll(o, h, f.Validate())
		l.set.Functions = append(l.set.Functions, Object[*v1alpha1.Function]{Origin: o, Object: f})
	case v1alpha1.KindPipeline:
		p := &v1alpha1.Pipeline{}
		if !l.decode(o, h, data, p) {
			return
		}
		for _, v := range p.Spec.Vertices {
			if v.Function != nil && v.Function.Spec != nil {
				resolveWorkingDir(&v.Function.Spec.Container, dir)
			}
		}
		p.SetDefaults()
		errs := p.Validate()
		l.failAll(o, h, errs)
		if len(errs) == 0 {
			l.validPipelines = append(l.validPipelines, len(l.set.Pipelines))
		}
		l.set.Pipelines = append(l.set.Pipelines, Object[*v1alpha1.Pipeline]{Origin: o, Object: p})
	}
}

func (l *loader) failAll(o Origin, h header, errs field.ErrorList) {
	for _, err := range errs {
		l.fail(o, h.Kind, h.Name, err)
	}
}

// readHeader reads apiVersion, kind and metadata.name, leniently: a value
// of the wrong type reads as "" and strict decoding reports it later.
func readHeader(data []byte) (header, error) {
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		return header{}, errors.New("the document is not a YAML mapping (an object with apiVersion, kind, metadata and spec)")
	}
	str := func(v any) string { s, _ := v.(string); return s }
	meta, _ := m["metadata"].(map[string]any)
	return header{APIVersion: str(m["apiVersion"]), Kind: str(m["kind"]), Name: str(meta["name"])}, nil
}

// checkHeader requires apiVersion freshet.dev/v1alpha1 and kind Function or
// Pipeline.
func checkHeader(h header) field.ErrorList {
	var errs field.ErrorList
	switch want := v1alpha1.GroupVersion.String(); h.APIVersion {
	case want:
	case "":
		errs = append(errs, field.Required(field.NewPath("apiVersion"), want))
	default:
		errs = append(errs, field.NotSupported(field.NewPath("apiVersion"), h.APIVersion, []string{want}))
	}
	kinds := []string{v1alpha1.KindFunction, v1alpha1.KindPipeline}
	switch h.Kind {
	case kinds[0], kinds[1]:
	case "":
		errs = append(errs, field.Required(field.NewPath("kind"), "Function or Pipeline"))
	default:
		errs = append(errs, field.NotSupported(field.NewPath("kind"), h.Kind, kinds))
	}
	return errs
}

// decode strictly decodes data into obj and reports each unknown or
// duplicate field and each value of the wrong type. It returns whether obj
// was decoded completely (unknown and duplicate fields aside).
func (l *loader) decode(o Origin, h header, data []byte, obj any) bool {
	strict, err := sigsjson.UnmarshalStrict(data, obj)
	if err != nil {
		for _, err := range locateDecodeErrors(data, obj, err) {
			l.fail(o, h.Kind, h.Name, err)
		}
		return false
	}
	for _, err := range strict {
		l.fail(o, h.Kind, h.Name, err)
	}
	return true
}

// resolveWorkingDir makes an empty or relative working directory absolute,
// taken from dir, the directory of the file that declared it.
func resolveWorkingDir(c *v1alpha1.Container, dir string) {
	if !filepath.IsAbs(c.WorkingDir) {
		c.WorkingDir = filepath.Join(dir, c.WorkingDir)
	}
}
