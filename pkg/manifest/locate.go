package manifest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	sigsjson "sigs.k8s.io/json"
)

// locateDecodeErrors explains err, the failure to decode data into obj, as
// errors naming each field whose value does not decode, with list indexes
// (encoding/json names at most the first, without indexes). It walks the
// document and obj's type together, descending only where decoding fails.
// When it cannot narrow the failure down, it returns err as is.
func locateDecodeErrors(data []byte, obj any, err error) []error {
	var doc any
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	if d.Decode(&doc) == nil {
		m, isMap := doc.(map[string]any)
		if t := reflect.TypeOf(obj).Elem(); isMap && t.Kind() == reflect.Struct {
			if errs := locateFields(m, t, nil); len(errs) > 0 {
				return errs.ToAggregate().Errors()
			}
		}
	}
	return []error{err}
}

// locate reports where v, found at path, fails to decode into a t.
func locate(v any, t reflect.Type, path *field.Path) field.ErrorList {
	if v == nil {
		return nil
	}
	err := decodeInto(v, t)
	if err == nil {
		return nil
	}
	t = derefType(t)
	if !isUnmarshaler(t) {
		var errs field.ErrorList
		switch val := v.(type) {
		case map[string]any:
			switch t.Kind() {
			case reflect.Struct:
				errs = locateFields(val, t, path)
			case reflect.Map:
				for _, k := range sortedKeys(val) {
					errs = append(errs, locate(val[k], t.Elem(), path.Key(k))...)
				}
			}
		case []any:
			if t.Kind() == reflect.Slice {
				for i, e := range val {
					errs = append(errs, locate(e, t.Elem(), path.Index(i))...)
				}
			}
		}
		if len(errs) > 0 {
			return errs
		}
	}
	return field.ErrorList{field.Invalid(path, v, expected(t, err))}
}

// locateFields locates the failures in the fields of an object decoded into
// struct type t, matching keys to JSON field names exactly.
func locateFields(m map[string]any, t reflect.Type, path *field.Path) field.ErrorList {
	fields := make(map[string]reflect.Type)
	jsonFields(t, fields)
	var errs field.ErrorList
	for _, k := range sortedKeys(m) {
		if ft, ok := fields[k]; ok {
			errs = append(errs, locate(m[k], ft, path.Child(k))...)
		}
	}
	return errs
}

// jsonFields maps the JSON names of struct type t's fields to their types,
// including those of embedded structs without a name of their own.
func jsonFields(t reflect.Type, into map[string]reflect.Type) {
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		if f.Anonymous && name == "" {
			if ft := derefType(f.Type); ft.Kind() == reflect.Struct {
				jsonFields(ft, into)
				continue
			}
		}
		if name == "" {
			name = f.Name
		}
		into[name] = f.Type
	}
}

// decodeInto decodes v, re-encoded, into a new t as the strict decoder
// does (case-sensitive field names), but without its strict checks.
func decodeInto(v any, t reflect.Type) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return sigsjson.UnmarshalCaseSensitivePreserveInts(raw, reflect.New(t).Interface())
}

var (
	durationType = reflect.TypeFor[metav1.Duration]()
	quantityType = reflect.TypeFor[resource.Quantity]()
	unmarshaler  = reflect.TypeFor[json.Unmarshaler]()
)

func isUnmarshaler(t reflect.Type) bool {
	return reflect.PointerTo(t).Implements(unmarshaler)
}

// expected says what a value of type t must look like.
func expected(t reflect.Type, err error) string {
	switch t {
	case durationType:
		return `must be a duration such as "200ms", "30s" or "1m"`
	case quantityType:
		return `must be a quantity such as "500m", "2" or "1Gi"`
	}
	if isUnmarshaler(t) {
		return err.Error()
	}
	switch t.Kind() {
	case reflect.String:
		return "must be a string"
	case reflect.Bool:
		return "must be true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return fmt.Sprintf("must be an integer (%s)", t.Kind())
	case reflect.Float32, reflect.Float64:
		return "must be a number"
	case reflect.Slice, reflect.Array:
		return "must be a list"
	case reflect.Struct, reflect.Map:
		return "must be a mapping"
	}
	return err.Error()
}

func derefType(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
