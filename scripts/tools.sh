#!/usr/bin/env bash
# Installs what the checks need when it is missing:
#   scripts/tools.sh            staticcheck (Go module proxy)
#   scripts/tools.sh chromium   also a browser for the e2e browser tests:
#                               ROLLCALL_TEST_CHROMIUM when set, else Debian's
#                               chromium, installed with apt-get when missing.
# Without a browser, a developer's run goes on (the browser tests skip, and
# `make test` says so at the end); under CI=true or ROLLCALL_REQUIRE_BROWSER=1
# it stops here, saying how to install one.
set -euo pipefail

say() { echo "tools.sh: $*" >&2; }
gobin=$(go env GOPATH)/bin
staticcheck_version=v0.8.2

if ! [ -x "$gobin/staticcheck" ] || ! "$gobin/staticcheck" -version 2>/dev/null | grep -q "(${staticcheck_version#v})"; then
  say "installing staticcheck $staticcheck_version"
  go install "honnef.co/go/tools/cmd/staticcheck@$staticcheck_version"
fi

[ "${1:-}" = chromium ] || exit 0

required=
case "${CI:-}" in true | TRUE | True | 1) required=1 ;; esac
[ "${ROLLCALL_REQUIRE_BROWSER:-}" = 1 ] && required=1
how="Install Chromium: on Debian or Ubuntu run \`sudo apt-get install chromium\`; elsewhere install Chromium or Google Chrome and set ROLLCALL_TEST_CHROMIUM to its path."

no_browser() { # $1: why
  if [ -n "$required" ]; then
    say "ERROR: $1. This run requires the browser tests (CI=true or ROLLCALL_REQUIRE_BROWSER=1). $how"
    exit 1
  fi
  say "WARNING: $1: the browser tests (every page of the web wizard) will be SKIPPED. $how"
  exit 0
}

if [ -n "${ROLLCALL_TEST_CHROMIUM:-}" ]; then
  [ -f "$ROLLCALL_TEST_CHROMIUM" ] && [ -x "$ROLLCALL_TEST_CHROMIUM" ] ||
    no_browser "ROLLCALL_TEST_CHROMIUM=$ROLLCALL_TEST_CHROMIUM is not an executable file"
  exit 0
fi
command -v chromium >/dev/null && exit 0

say "installing Debian's chromium for the browser tests"
sudo=
[ "$(id -u)" = 0 ] || sudo=sudo
if ! command -v apt-get >/dev/null; then
  no_browser "there is no chromium on the PATH and no apt-get to install it"
fi
if ! { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium; } >&2; then
  no_browser "apt-get could not install chromium"
fi
command -v chromium >/dev/null || no_browser "apt-get installed chromium but it is not on the PATH"
