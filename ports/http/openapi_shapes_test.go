package http

import (
	"encoding"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/rollcall/rollcall/application/query"
)

// Every field the handlers send is in the description, at every depth, so
// a generated client reads all of it: a field added to an answer without
// its description fails here. (The description may name more: fields of
// shared/API.md other branches are adding.)
func TestOpenAPINamesEveryFieldSent(t *testing.T) {
	doc := loadDescription(t)
	tests := []struct {
		schema string
		answer any
	}{
		{"Error", errorBody{}},
		{"SessionAccount", sessionAccount{}},
		{"Named", named{}},
		{"Organization", organizationJSON{}},
		{"GoogleCourse", courseJSON{}},
		{"Import", query.Import{}},
		{"ImportList", struct {
			Imports []query.Import `json:"imports"`
		}{}},
		{"RowsPage", query.RowsPage{}},
		{"CorrectedRow", struct {
			Row    query.Row    `json:"row"`
			Counts query.Counts `json:"counts"`
		}{}},
		{"AccountsPage", query.AccountsPage{}},
		{"AuditTrail", struct {
			Events []query.AuditEntry `json:"events"`
		}{}},
	}
	for _, tt := range tests {
		t.Run(tt.schema, func(t *testing.T) {
			ref := doc.Components.Schemas[tt.schema]
			if ref == nil {
				t.Fatalf("components/schemas/%s is missing", tt.schema)
			}
			for _, missing := range undescribed(reflect.TypeOf(tt.answer), ref.Value, tt.schema) {
				t.Errorf("%s is sent but not described", missing)
			}
		})
	}
}

// A type that marshals itself is a value, not an object: time.Time,
// uuid.UUID (as text), json.RawMessage.
var (
	jsonMarshaler = reflect.TypeFor[json.Marshaler]()
	textMarshaler = reflect.TypeFor[encoding.TextMarshaler]()
)

func marshalsItself(typ reflect.Type) bool {
	for _, m := range []reflect.Type{jsonMarshaler, textMarshaler} {
		if typ.Implements(m) || reflect.PointerTo(typ).Implements(m) {
			return true
		}
	}
	return false
}

// undescribed lists the JSON fields of typ that schema does not name.
func undescribed(typ reflect.Type, schema *openapi3.Schema, where string) []string {
	for typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	if marshalsItself(typ) {
		return nil
	}
	switch typ.Kind() {
	case reflect.Slice, reflect.Array:
		if schema.Items == nil {
			return []string{where + " (an array, described as something else)"}
		}
		return undescribed(typ.Elem(), schema.Items.Value, where+"[]")
	case reflect.Struct:
	default:
		return nil
	}
	var missing []string
	for f := range typ.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		if f.Anonymous && name == "" {
			missing = append(missing, undescribed(f.Type, schema, where)...)
			continue
		}
		if name == "" {
			name = f.Name
		}
		prop := schema.Properties[name]
		if prop == nil {
			missing = append(missing, where+"."+name)
			continue
		}
		missing = append(missing, undescribed(f.Type, prop.Value, where+"."+name)...)
	}
	return missing
}
