#!/usr/bin/env bash
# The API description's checks (see docs/api.md):
#   scripts/api.sh lint       Redocly's recommended rules over ports/http/openapi.yaml
#                             (npx fetches the pinned @redocly/cli; zero errors and
#                             zero warnings pass)
#   scripts/api.sh generate   the Go client in client/ from it (oapi-codegen, a go tool)
#   scripts/api.sh            both
# ports/http/openapi_test.go runs the same lint (and reads the version below);
# client/generate_test.go checks that the committed client is what generate makes.
set -euo pipefail
cd "$(dirname "$0")/.."

redocly_version=2.77.0
spec=ports/http/openapi.yaml

lint() {
  if ! command -v npx >/dev/null; then
    echo "api.sh: npx is missing: install Node.js 20 or later (Debian: apt-get install nodejs npm)" >&2
    exit 1
  fi
  npx --yes "@redocly/cli@$redocly_version" lint --extends=recommended "$spec"
  # Redocly exits 0 with warnings; the house rule is none.
  totals=$(npx --yes "@redocly/cli@$redocly_version" lint --extends=recommended --format=json "$spec" 2>/dev/null |
    tr -d ' \n' | grep -o '"totals":{[^}]*}')
  case "$totals" in
    *'"errors":0,"warnings":0,'*) ;;
    *) echo "api.sh: the description has problems: $totals" >&2; exit 1 ;;
  esac
}

generate() {
  go generate ./client
  go vet ./client
}

case "${1:-all}" in
  lint) lint ;;
  generate) generate ;;
  all) lint && generate ;;
  *) echo "usage: scripts/api.sh [lint|generate]" >&2; exit 2 ;;
esac
