package http

import (
	"encoding"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/rollcall/rollcall/application/query"
)

// Every field the handlers send is in the description, at every depth, so
// a generated client reads all of it: a field added to an answer without
// its description fails here. (The description may name more: fields of
// shared/API.md other branches are adding.) A field the description calls
// required is always sent: a Go field without omitempty.
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
		{"Me", meAnswer{}},
	}
	for _, tt := range tests {
		t.Run(tt.schema, func(t *testing.T) {
			ref := doc.Components.Schemas[tt.schema]
			if ref == nil {
				t.Fatalf("components/schemas/%s is missing", tt.schema)
			}
			for _, wrong := range undescribed(reflect.TypeOf(tt.answer), ref.Value, tt.schema) {
				t.Error(wrong)
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

// undescribed lists how typ's JSON differs from schema: fields sent but not
// named, and fields required but not always sent.
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
			return []string{where + " is an array, described as something else"}
		}
		return undescribed(typ.Elem(), schema.Items.Value, where+"[]")
	case reflect.Struct:
	default:
		return nil
	}
	var wrong []string
	always := map[string]bool{}
	for f := range typ.Fields() {
		name, options, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		if f.Anonymous && name == "" {
			wrong = append(wrong, undescribed(f.Type, schema, where)...)
			continue
		}
		if name == "" {
			name = f.Name
		}
		always[name] = !slices.Contains(strings.Split(options, ","), "omitempty")
		prop := schema.Properties[name]
		if prop == nil {
			wrong = append(wrong, where+"."+name+" is sent but not described")
			continue
		}
		wrong = append(wrong, undescribed(f.Type, prop.Value, where+"."+name)...)
	}
	for _, name := range schema.Required {
		if !always[name] {
			wrong = append(wrong, where+"."+name+" is described as required but not always sent")
		}
	}
	return wrong
}
