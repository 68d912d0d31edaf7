package web

import (
	"html/template"
	"strings"
	"testing"

	"github.com/rollcall/rollcall/application/command"
	"github.com/rollcall/rollcall/domain/tenancy"
)

// The Google button is there only when the server has a Google client, and
// the settings page shows the organization's Google rules as stored.
func TestGoogleSignInTemplates(t *testing.T) {
	root := &tenancy.Actor{Email: "root@lincoln.edu", Role: tenancy.RoleSystemAdmin}
	restricted := command.Organization{Name: "Lincoln High", GoogleSignInEnabled: true, GoogleSignInDomains: []string{"lincoln.edu", "staff.lincoln.edu"}}
	typed := "lincoln, edu"
	tests := []struct {
		name, page   string
		v            view
		wants, lacks []string
	}{
		{"sign-in with Google", "sign-in", view{Data: signInData{Google: true}}, []string{`id="google-sign-in"`, `href="/sign-in/google"`}, nil},
		{"sign-in without Google", "sign-in", view{Data: signInData{}}, nil, []string{"google-sign-in", "Sign in with Google"}},
		{"a refusal's code", "sign-in", view{Error: "There is no Rollcall account", Data: signInData{Google: true, Code: "google_account_unknown"}},
			[]string{`data-code="google_account_unknown"`, "There is no Rollcall account"}, nil},
		{"settings, restricted", "settings", view{Actor: root, CSRF: "tok", Data: settingsData{Organization: restricted, CanChange: true, GoogleConfigured: true}},
			[]string{`<strong id="google-sign-in-state">On</strong>`, "lincoln.edu, staff.lincoln.edu</span> only", `value="lincoln.edu, staff.lincoln.edu"`, "checked"},
			[]string{"no Google client"}},
		{"settings, refused domains typed again", "settings", view{Actor: root, Data: settingsData{Organization: restricted, CanChange: true, GoogleDomainsTyped: &typed}},
			[]string{`value="lincoln, edu"`, "no Google client"}, nil},
		{"settings, off", "settings", view{Actor: root, Data: settingsData{Organization: command.Organization{Name: "Lincoln High"}, GoogleConfigured: true}},
			[]string{`<strong id="google-sign-in-state">Off</strong>`}, []string{`action="/settings/google-sign-in"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tpl, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+tt.page+".html")
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			if err := tpl.Execute(&b, tt.v); err != nil {
				t.Fatal(err)
			}
			for _, want := range tt.wants {
				if !strings.Contains(b.String(), want) {
					t.Errorf("lacks %q", want)
				}
			}
			for _, lack := range tt.lacks {
				if strings.Contains(b.String(), lack) {
					t.Errorf("has %q", lack)
				}
			}
		})
	}
}
