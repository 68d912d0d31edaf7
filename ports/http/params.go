package http

import (
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/rollcall/rollcall/application/query"
	"github.com/rollcall/rollcall/domain/failure"
)

// Every value a request carries ends up in SQL, an event or a page, and
// PostgreSQL refuses a NUL byte and invalid UTF-8 in text. They are refused
// here, at the door, as a 400 that names the parameter, instead of reaching
// the database as a 500.

// InvalidParameter is the 400 answer for a value the API cannot take.
func InvalidParameter(format string, args ...any) error {
	return failure.New(failure.Invalid, "invalid_parameter", format, args...)
}

// BadText says what is wrong with s as text, or "" when nothing is.
func BadText(s string) string {
	switch {
	case strings.IndexByte(s, 0) >= 0:
		return "contains a NUL character"
	case !utf8.ValidString(s):
		return "is not valid UTF-8 text"
	}
	return ""
}

// CheckValues refuses any name or value of a query string or form with a
// NUL byte or invalid UTF-8; the web pages use it too.
func CheckValues(values url.Values, where string) error {
	for name, list := range values {
		if why := BadText(name); why != "" {
			return InvalidParameter("A %s parameter name %s. Remove it and try again.", where, why)
		}
		for _, v := range list {
			if why := BadText(v); why != "" {
				return InvalidParameter("The %s parameter %q %s. Remove it and try again.", where, name, why)
			}
		}
	}
	return nil
}

// checkQuery is the API's middleware for query strings.
func (a *API) checkQuery(next http.Handler) http.Handler {
	return checkQuery(a.logger, next)
}

// checkQuery answers 400 invalid_parameter to a query string that cannot be
// read or holds a NUL or invalid UTF-8, on every route under /api/v1.
func checkQuery(logger *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		values, err := url.ParseQuery(r.URL.RawQuery)
		if err != nil {
			writeError(w, r, logger, InvalidParameter("The query string cannot be read (%v).", err))
			return
		}
		if err := CheckValues(values, "query"); err != nil {
			writeError(w, r, logger, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// ParsePage reads a page number: "" is the first page; anything else must
// be a whole number from 1 to query.MaxPage.
func ParsePage(v string) (int, error) {
	if v == "" {
		return 1, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > query.MaxPage {
		return 0, InvalidParameter("page must be a whole number from 1 to %d, not %q.", query.MaxPage, truncate(v, 40))
	}
	return n, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// badJSONText finds a string with a NUL byte in a decoded JSON body (the
// decoder already turned invalid UTF-8 into U+FFFD) and returns the JSON
// name of its field.
func badJSONText(v reflect.Value, name string) (string, bool) {
	switch v.Kind() {
	case reflect.String:
		return name, strings.IndexByte(v.String(), 0) >= 0
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return "", false
		}
		return badJSONText(v.Elem(), name)
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			if field, bad := badJSONText(v.Index(i), name); bad {
				return field, true
			}
		}
	case reflect.Map:
		iter := v.MapRange()
		for iter.Next() {
			key := iter.Key()
			if key.Kind() == reflect.String && strings.IndexByte(key.String(), 0) >= 0 {
				return name, true
			}
			if field, bad := badJSONText(iter.Value(), name+"."+key.String()); bad {
				return field, true
			}
		}
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			fieldName, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if fieldName == "" {
				fieldName = f.Name
			}
			if name != "" {
				fieldName = name + "." + fieldName
			}
			if field, bad := badJSONText(v.Field(i), fieldName); bad {
				return field, true
			}
		}
	}
	return "", false
}

// ClientAddress is the address of whoever sent r: the connection's peer,
// unless that peer is one of the trusted proxies; then X-Forwarded-For is
// read from the right (the part the proxies appended) and the first address
// that is not a trusted proxy is the client. Anything a client could have
// written itself (the left part, or any header reaching us directly) is
// never believed.
func ClientAddress(r *http.Request, trusted []netip.Prefix) netip.Addr {
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	addr := peer.Addr().Unmap()
	if !isTrusted(addr, trusted) {
		return addr
	}
	hops := r.Header.Values("X-Forwarded-For")
	for i := len(hops) - 1; i >= 0; i-- {
		parts := strings.Split(hops[i], ",")
		for j := len(parts) - 1; j >= 0; j-- {
			hop, err := netip.ParseAddr(strings.TrimSpace(parts[j]))
			if err != nil {
				// A malformed hop: what lies left of it cannot be trusted.
				return addr
			}
			addr = hop.Unmap()
			if !isTrusted(addr, trusted) {
				return addr
			}
		}
	}
	return addr
}

func isTrusted(addr netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}
