#!/usr/bin/env bash
# Installs what the checks need when it is missing:
#   scripts/tools.sh            staticcheck (Go module proxy)
#   scripts/tools.sh chromium   also Debian's chromium and chromium-driver
set -euo pipefail

say() { echo "tools.sh: $*" >&2; }
gobin=$(go env GOPATH)/bin
staticcheck_version=v0.8.2

if ! [ -x "$gobin/staticcheck" ] || ! "$gobin/staticcheck" -version 2>/dev/null | grep -q "(${staticcheck_version#v})"; then
  say "installing staticcheck $staticcheck_version"
  go install "honnef.co/go/tools/cmd/staticcheck@$staticcheck_version"
fi

if [ "${1:-}" = chromium ] && ! command -v chromium >/dev/null; then
  say "installing Debian's chromium and chromium-driver for the browser tests"
  sudo=
  [ "$(id -u)" = 0 ] || sudo=sudo
  if ! { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium chromium-driver; } >&2; then
    say "WARNING: could not install chromium; the browser tests will skip"
  fi
fi
