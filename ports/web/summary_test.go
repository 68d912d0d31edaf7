package web

import (
	"html/template"
	"strings"
	"testing"

	"github.com/rollcall/rollcall/application/query"
)

// The summary of a completed import says how its welcome emails fared.
func TestSummaryTellsUndeliveredWelcomeEmails(t *testing.T) {
	tpl, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/_steps.html", "templates/progress.html")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		welcome *query.WelcomeEmails
		wants   []string
		unwants []string
	}{
		{"three refused", &query.WelcomeEmails{Sent: 27, Failed: 3},
			[]string{"<strong>27</strong> welcome emails sent", `id="summary-undelivered"`, "<strong>3</strong> welcome emails could not be delivered", "audit trails"},
			[]string{"on its way", "on their way"}},
		{"one refused, one on its way", &query.WelcomeEmails{Sent: 1, Pending: 1, Failed: 1},
			[]string{"<strong>1</strong> welcome email sent, <strong>1</strong> still on its way", "<strong>1</strong> welcome email could not be delivered"},
			nil},
		{"all sent", &query.WelcomeEmails{Sent: 30},
			[]string{"<strong>30</strong> welcome emails sent"},
			[]string{"could not be delivered"}},
		{"no welcome emails", nil, nil, []string{"welcome email"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			imp := query.Import{State: "completed", Progress: query.Progress{Total: 30},
				Summary: &query.Summary{Created: 30, FailedRows: []query.FailedRow{}, WelcomeEmails: tt.welcome}}
			var b strings.Builder
			if err := tpl.Execute(&b, view{Title: "Import complete", Data: progressView{wizardView: wizardView{Import: imp}}}); err != nil {
				t.Fatal(err)
			}
			html := strings.Join(strings.Fields(b.String()), " ")
			for _, want := range tt.wants {
				if !strings.Contains(html, want) {
					t.Errorf("lacks %q", want)
				}
			}
			for _, unwant := range tt.unwants {
				if strings.Contains(html, unwant) {
					t.Errorf("has %q", unwant)
				}
			}
		})
	}
}
