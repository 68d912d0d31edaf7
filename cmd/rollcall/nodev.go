//go:build !dev

package main

import "errors"

// The production build: development mode and its fakes (dev.go) are not
// compiled in, so DEV_MODE=true on a production host is refused instead of
// creating a demo administrator and serving the emails unauthenticated.

func enterDevMode(*Config) error {
	return errors.New("DEV_MODE=true, but this rollcall is the production build, which has no development mode " +
		"(no demo school, mail catcher or fake Google). Unset DEV_MODE; for development use `make run`, " +
		"which builds bin/rollcall-dev with `go build -tags dev`")
}

func (m *Main) startDev() (devMode, error) { return nil, nil }
