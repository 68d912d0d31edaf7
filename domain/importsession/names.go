package importsession

import "strings"

// NameKey is how a cell names a group or a tag: "7b", " 7B " and "7B" are
// the same group. The check, a row's correction and the mapping page's
// warning of unknown groups all compare names through it.
func NameKey(name string) string { return strings.ToLower(strings.TrimSpace(name)) }
