package http

import (
	"net/http/httptest"
	"net/netip"
	"reflect"
	"testing"
)

func TestClientAddress(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	tests := []struct {
		name, remote string
		xff          []string
		trusted      []netip.Prefix
		want         string
	}{
		{"no proxy configured: the peer, whatever the header says", "198.51.100.7:5555", []string{"203.0.113.1"}, nil, "198.51.100.7"},
		{"an untrusted peer's header is ignored", "198.51.100.7:5555", []string{"203.0.113.1"}, proxies, "198.51.100.7"},
		{"a trusted proxy: the address it appended", "10.1.2.3:5555", []string{"203.0.113.1"}, proxies, "203.0.113.1"},
		{"what the client wrote left of it is not believed", "10.1.2.3:5555", []string{"6.6.6.6, 203.0.113.1"}, proxies, "203.0.113.1"},
		{"a chain of trusted proxies", "10.1.2.3:5555", []string{"203.0.113.1, 10.9.9.9", "10.8.8.8"}, proxies, "203.0.113.1"},
		{"a malformed hop stops the walk", "10.1.2.3:5555", []string{"6.6.6.6, junk, 10.9.9.9"}, proxies, "10.9.9.9"},
		{"only proxies: the leftmost", "10.1.2.3:5555", []string{"10.7.7.7"}, proxies, "10.7.7.7"},
		{"IPv6 peer", "[::1]:5555", []string{"2001:db8::5"}, proxies, "2001:db8::5"},
		{"IPv4-mapped peer", "[::ffff:198.51.100.7]:5555", nil, proxies, "198.51.100.7"},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tt.remote
		for _, v := range tt.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := ClientAddress(r, tt.trusted); got.String() != tt.want {
			t.Errorf("%s: %s, want %s", tt.name, got, tt.want)
		}
	}
}

func TestParsePage(t *testing.T) {
	tests := []struct {
		in   string
		want int
		ok   bool
	}{
		{"", 1, true}, {"1", 1, true}, {"1000000", 1000000, true},
		{"0", 0, false}, {"-3", 0, false}, {"1000001", 0, false}, {"92233720368547758", 0, false},
		{"99999999999999999999999", 0, false}, {"two", 0, false},
	}
	for _, tt := range tests {
		got, err := ParsePage(tt.in)
		if got != tt.want || (err == nil) != tt.ok {
			t.Errorf("ParsePage(%q) = %d, %v", tt.in, got, err)
		}
	}
}

func TestBadJSONText(t *testing.T) {
	type inner struct {
		Name string `json:"name"`
	}
	type body struct {
		Email   string            `json:"email"`
		Columns map[string]string `json:"columns"`
		Tags    []string          `json:"tags"`
		Inner   *inner            `json:"inner"`
		hidden  string
	}
	tests := []struct {
		name  string
		v     any
		field string
		bad   bool
	}{
		{"clean", &body{Email: "a@b.c", Columns: map[string]string{"E": "email"}, Inner: &inner{"x"}, hidden: "\x00"}, "", false},
		{"top-level field", &body{Email: "a\x00"}, "email", true},
		{"map value", &body{Columns: map[string]string{"E": "em\x00ail"}}, "columns.E", true},
		{"map key", &body{Columns: map[string]string{"E\x00": "email"}}, "columns", true},
		{"slice element", &body{Tags: []string{"ok", "b\x00d"}}, "tags", true},
		{"nested struct", &body{Inner: &inner{"\x00"}}, "inner.name", true},
	}
	for _, tt := range tests {
		field, bad := badJSONText(reflect.ValueOf(tt.v), "")
		if field != tt.field || bad != tt.bad {
			t.Errorf("%s: %q %v, want %q %v", tt.name, field, bad, tt.field, tt.bad)
		}
	}
}
