package cli

import (
	"reflect"
	"strings"
)

// emptyLists makes the lists of a result that JSON would print as null print
// as [] instead: a script reads `.files | length` without a null check, and
// the shape of a document does not depend on whether a list happens to be
// empty. Lists tagged omitempty stay absent when empty. It changes v in
// place (a result about to be printed) and follows pointers, structs,
// slices and maps.
func emptyLists(v any) {
	fill(reflect.ValueOf(v), map[uintptr]bool{})
}

func fill(v reflect.Value, seen map[uintptr]bool) {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() || seen[v.Pointer()] {
			return
		}
		seen[v.Pointer()] = true
		fill(v.Elem(), seen)
	case reflect.Interface:
		if !v.IsNil() {
			fill(v.Elem(), seen)
		}
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f, fv := t.Field(i), v.Field(i)
			if !f.IsExported() {
				continue
			}
			tag := f.Tag.Get("json")
			if tag == "-" {
				continue
			}
			if fv.Kind() == reflect.Slice && fv.IsNil() && !strings.Contains(tag, ",omitempty") && fv.CanSet() {
				fv.Set(reflect.MakeSlice(fv.Type(), 0, 0))
				continue
			}
			fill(fv, seen)
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			fill(v.Index(i), seen)
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			fill(v.MapIndex(k), seen) // map values are not addressable: pointers inside still are
		}
	}
}
