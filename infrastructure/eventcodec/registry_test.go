package eventcodec

import (
	"encoding/json"
	"errors"
	"testing"
)

type nameChanged struct {
	Name string
}

func (nameChanged) EventType() string  { return "NameChanged" }
func (nameChanged) SchemaVersion() int { return 2 }

type legacy struct{ Total int }

func (legacy) EventType() string { return "Legacy" }

func TestRegistry(t *testing.T) {
	reg := NewRegistry(nameChanged{}, legacy{})
	// Version 1 stored the name as "FullName".
	reg.AddUpcaster("NameChanged", 1, func(p json.RawMessage) (json.RawMessage, error) {
		var v1 struct{ FullName string }
		if err := json.Unmarshal(p, &v1); err != nil {
			return nil, err
		}
		return json.Marshal(nameChanged{Name: v1.FullName})
	})

	tests := []struct {
		name    string
		typ     string
		version int
		payload string
		want    any
		wantErr bool
	}{
		{"current version", "NameChanged", 2, `{"Name":"Ada"}`, nameChanged{Name: "Ada"}, false},
		{"upcast from v1", "NameChanged", 1, `{"FullName":"Ada"}`, nameChanged{Name: "Ada"}, false},
		{"no upcaster below v1", "NameChanged", 0, `{}`, nil, true},
		{"from the future", "NameChanged", 3, `{}`, nil, true},
		{"unversioned event", "Legacy", 1, `{"Total":3}`, legacy{Total: 3}, false},
		{"unknown type", "Nope", 1, `{}`, nil, true},
		{"bad json", "Legacy", 1, `{`, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := reg.Decode(tt.typ, tt.version, []byte(tt.payload))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Fatalf("got %#v, want %#v", got, tt.want)
			}
		})
	}

	_, err := reg.Decode("Nope", 1, nil)
	var unknown *UnknownTypeError
	if !errors.As(err, &unknown) {
		t.Fatalf("unknown type gives %T, want *UnknownTypeError", err)
	}

	name, version, payload, err := reg.Encode(nameChanged{Name: "Grace"})
	if err != nil || name != "NameChanged" || version != 2 || string(payload) != `{"Name":"Grace"}` {
		t.Fatalf("Encode = %q %d %s %v", name, version, payload, err)
	}
	if _, _, _, err := reg.Encode(struct{}{}); err == nil {
		t.Fatal("encoding an untyped value must fail")
	}
}
