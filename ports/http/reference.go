package http

import (
	"net/http"

	"github.com/google/uuid"

	"github.com/rollcall/rollcall/application/command"
)

type named struct {
	ID   uuid.UUID `json:"id"`
	Name string    `json:"name"`
}

func (a *API) listNamed(kind command.ReferenceKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		items, err := a.reference.ListNamed(r.Context(), actorFrom(r.Context()), kind)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		out := make([]named, len(items))
		for i, n := range items {
			out[i] = named(n)
		}
		writeJSON(w, http.StatusOK, out)
	}
}

func (a *API) createNamed(kind command.ReferenceKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Name string `json:"name"`
		}
		if !a.decode(w, r, &req) {
			return
		}
		n, err := a.reference.CreateNamed(r.Context(), command.CreateNamed{Actor: actorFrom(r.Context()), Kind: kind, Name: req.Name})
		if err != nil {
			a.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusCreated, named(n))
	}
}

type organizationJSON struct {
	ID                     uuid.UUID `json:"id"`
	Name                   string    `json:"name"`
	WelcomeEmailEnabled    bool      `json:"welcome_email_enabled"`
	ChangeThresholdPercent int       `json:"change_threshold_percent"`
	GoogleSignInEnabled    bool      `json:"google_sign_in_enabled"`
	GoogleSignInDomains    []string  `json:"google_sign_in_domains"`
}

func organizationFrom(o command.Organization) organizationJSON {
	domains := o.GoogleSignInDomains
	if domains == nil {
		domains = []string{}
	}
	return organizationJSON{ID: o.ID, Name: o.Name, WelcomeEmailEnabled: o.WelcomeEmailEnabled, ChangeThresholdPercent: o.ChangeThresholdPercent,
		GoogleSignInEnabled: o.GoogleSignInEnabled, GoogleSignInDomains: domains}
}

func (a *API) organization(w http.ResponseWriter, r *http.Request) {
	org, err := a.reference.Organization(r.Context(), actorFrom(r.Context()))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, organizationFrom(org))
}

func (a *API) patchOrganization(w http.ResponseWriter, r *http.Request) {
	var req struct {
		WelcomeEmailEnabled    *bool     `json:"welcome_email_enabled"`
		ChangeThresholdPercent *int      `json:"change_threshold_percent"`
		GoogleSignInEnabled    *bool     `json:"google_sign_in_enabled"`
		GoogleSignInDomains    *[]string `json:"google_sign_in_domains"`
	}
	if !a.decode(w, r, &req) {
		return
	}
	org, err := a.reference.UpdateOrganization(r.Context(), actorFrom(r.Context()), command.OrganizationSettings{
		WelcomeEmailEnabled: req.WelcomeEmailEnabled, ChangeThresholdPercent: req.ChangeThresholdPercent,
		GoogleSignInEnabled: req.GoogleSignInEnabled, GoogleSignInDomains: req.GoogleSignInDomains})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, organizationFrom(org))
}
