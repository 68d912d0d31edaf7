package importsession

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// synonyms lists, per field, normalised header names seen in real exports:
// Google Workspace bulk upload, Microsoft Entra bulk create, Moodle upload
// users, and school information systems.
var synonyms = []struct {
	field string
	names []string
}{
	{FieldEmail, []string{"email", "emailaddress", "mail", "email1", "studentemail", "useremail", "emailid",
		"username", "userprincipalname", "upn", "primaryemail", "login", "loginemail", "courriel", "correo", "emailadresse"}},
	{FieldFirstName, []string{"firstname", "first", "givenname", "given", "forename", "prenom", "studentfirstname",
		"vorname", "nombre", "preferredfirstname", "legalfirstname"}},
	{FieldLastName, []string{"lastname", "last", "surname", "sn", "familyname", "family", "nom", "studentlastname",
		"nachname", "apellido", "apellidos", "legallastname"}},
	{FieldFullName, []string{"fullname", "name", "displayname", "studentname", "nomcomplet", "nombrecompleto"}},
	{FieldPassword, []string{"password", "pass", "pwd", "initialpassword", "temporarypassword", "passwordprofile", "motdepasse", "kennwort", "contrasena"}},
	{FieldGroup, []string{"group", "orgunitpath", "orgunit", "ou", "class", "homeroom", "cohort", "cohort1", "form",
		"grade", "classe", "klasse", "department", "groupname"}},
	{FieldTag, []string{"tag", "tags", "label", "labels", "tag1", "tag2", "tag3"}},
}

// SuggestMapping proposes a field for each header, from its name. Each
// single-use field goes to the first header that matches it; a group column
// is only suggested to a system administrator.
func SuggestMapping(headers []string, systemAdmin bool) map[string]string {
	out := make(map[string]string, len(headers))
	taken := map[string]bool{}
	normalised := make([]string, len(headers))
	for i, h := range headers {
		normalised[i] = normaliseHeader(h)
		out[h] = FieldIgnore
	}
	for _, syn := range synonyms {
		if syn.field == FieldGroup && !systemAdmin {
			continue
		}
		for _, name := range syn.names {
			for i, h := range headers {
				if out[h] != FieldIgnore || normalised[i] != name {
					continue
				}
				if syn.field != FieldTag && taken[syn.field] {
					continue
				}
				out[h] = syn.field
				taken[syn.field] = true
			}
		}
	}
	// A full name is only useful when first and last are not both there.
	if taken[FieldFirstName] && taken[FieldLastName] {
		for h, f := range out {
			if f == FieldFullName {
				out[h] = FieldIgnore
			}
		}
	}
	return out
}

// normaliseHeader lower-cases, drops accents, bracketed notes such as
// "[Required]" or "[givenName]" (keeping the bracket's content as a fallback
// when nothing else is left), and everything that is not a letter or digit.
func normaliseHeader(h string) string {
	h = strings.ToLower(norm.NFD.String(h))
	var outside, inside strings.Builder
	depth := 0
	for _, r := range h {
		switch {
		case r == '[' || r == '(':
			depth++
		case r == ']' || r == ')':
			depth = max(0, depth-1)
		case unicode.Is(unicode.Mn, r):
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if depth > 0 {
				inside.WriteRune(r)
			} else {
				outside.WriteRune(r)
			}
		}
	}
	s := outside.String()
	for _, noise := range []string{"required", "optional"} {
		s = strings.TrimSuffix(s, noise)
	}
	// Entra writes "Name [displayName] Required": prefer the bracketed
	// attribute, which is precise.
	if in := inside.String(); in != "" && in != "required" && in != "optional" {
		return in
	}
	return s
}
