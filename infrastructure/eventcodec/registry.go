// Package eventcodec turns domain events into JSON payloads and back. Each
// event has a stable type name chosen once and a schema version; old payloads
// are upcast to the current version before decoding, so history stays
// readable when an event's shape changes.
package eventcodec

import (
	"encoding/json"
	"fmt"
	"reflect"
)

// Typed is implemented by every domain event.
type Typed interface {
	EventType() string
}

// Versioned is implemented by events whose schema changed at least once.
type Versioned interface {
	SchemaVersion() int
}

// Upcaster rewrites a payload of schema version N into version N+1.
type Upcaster func(payload json.RawMessage) (json.RawMessage, error)

type entry struct {
	goType    reflect.Type
	version   int
	upcasters map[int]Upcaster
}

// Registry maps stable type names to Go types. It is filled once at wiring
// time and only read afterwards.
type Registry struct {
	byName map[string]*entry
}

// NewRegistry registers the given sample events (values, not pointers).
func NewRegistry(samples ...Typed) *Registry {
	r := &Registry{byName: map[string]*entry{}}
	for _, s := range samples {
		r.Register(s)
	}
	return r
}

// Register adds one event type. Registering two Go types under one name is a
// programming error and panics at start-up, not at the first event.
func (r *Registry) Register(sample Typed) {
	name := sample.EventType()
	t := reflect.TypeOf(sample)
	if prev, ok := r.byName[name]; ok && prev.goType != t {
		panic(fmt.Sprintf("eventcodec: %q registered for %s and %s", name, prev.goType, t))
	}
	r.byName[name] = &entry{goType: t, version: schemaVersion(sample), upcasters: map[int]Upcaster{}}
}

// AddUpcaster registers how to lift a payload of fromVersion to fromVersion+1.
func (r *Registry) AddUpcaster(name string, fromVersion int, up Upcaster) {
	e, ok := r.byName[name]
	if !ok {
		panic(fmt.Sprintf("eventcodec: upcaster for unregistered event %q", name))
	}
	e.upcasters[fromVersion] = up
}

// Encode returns the event's type name, schema version and JSON payload.
func (r *Registry) Encode(event any) (name string, version int, payload []byte, err error) {
	typed, ok := event.(Typed)
	if !ok {
		return "", 0, nil, fmt.Errorf("eventcodec: %T has no EventType method", event)
	}
	name = typed.EventType()
	e, ok := r.byName[name]
	if !ok {
		return "", 0, nil, fmt.Errorf("eventcodec: event %q is not registered", name)
	}
	payload, err = json.Marshal(event)
	if err != nil {
		return "", 0, nil, fmt.Errorf("eventcodec: encode %q: %w", name, err)
	}
	return name, e.version, payload, nil
}

// Decode rebuilds the domain event (as a value of its registered type),
// upcasting old schema versions first.
func (r *Registry) Decode(name string, version int, payload []byte) (any, error) {
	e, ok := r.byName[name]
	if !ok {
		return nil, &UnknownTypeError{Name: name}
	}
	raw := json.RawMessage(payload)
	for v := version; v < e.version; v++ {
		up, ok := e.upcasters[v]
		if !ok {
			return nil, fmt.Errorf("eventcodec: no upcaster for %q from schema version %d", name, v)
		}
		var err error
		if raw, err = up(raw); err != nil {
			return nil, fmt.Errorf("eventcodec: upcast %q from version %d: %w", name, v, err)
		}
	}
	if version > e.version {
		return nil, fmt.Errorf("eventcodec: %q has schema version %d, newer than this build knows (%d)", name, version, e.version)
	}
	ptr := reflect.New(e.goType)
	if err := json.Unmarshal(raw, ptr.Interface()); err != nil {
		return nil, fmt.Errorf("eventcodec: decode %q: %w", name, err)
	}
	return ptr.Elem().Interface(), nil
}

// DecodeCurrent rebuilds an event from JSON of its current schema (as a
// read model keeps it, having decoded and upcast it already).
func (r *Registry) DecodeCurrent(name string, payload []byte) (any, error) {
	e, ok := r.byName[name]
	if !ok {
		return nil, &UnknownTypeError{Name: name}
	}
	return r.Decode(name, e.version, payload)
}

// UnknownTypeError is returned for an event type this build does not know;
// consumers skip such events rather than stall on them.
type UnknownTypeError struct{ Name string }

func (e *UnknownTypeError) Error() string {
	return fmt.Sprintf("eventcodec: unknown event type %q", e.Name)
}

func schemaVersion(sample any) int {
	if v, ok := sample.(Versioned); ok {
		return v.SchemaVersion()
	}
	return 1
}
