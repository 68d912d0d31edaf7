# Rollcall — the commands a newcomer needs. Each target says what it does.
# scripts/postgres.sh finds or starts PostgreSQL (see README).

GOBIN := $(shell go env GOPATH)/bin
export PATH := $(GOBIN):$(PATH)

.PHONY: run test check build build-dev bench fuzz lint api clean clean-data

## run: build the development binary, migrate and serve on 127.0.0.1:8080 (demo school, emails at /dev/mail, fake Google)
run: build-dev .data/secret-key
	@DATABASE_URL="$${DATABASE_URL:-$$(scripts/postgres.sh)}" && export DATABASE_URL && \
		export ROLLCALL_SECRET_KEY="$${ROLLCALL_SECRET_KEY:-$$(cat .data/secret-key)}" DEV_MODE=true && \
		bin/rollcall-dev migrate && exec bin/rollcall-dev serve

# The development key that encrypts uploads; production sets ROLLCALL_SECRET_KEY itself.
.data/secret-key:
	@mkdir -p .data && head -c 32 /dev/urandom | base64 > $@ && chmod 600 $@

## test: every check, then every test (race detector on) against a real PostgreSQL and Chromium, 30 s of fuzzing,
## and a count of the browser tests run and skipped (see scripts/test.sh; CI=true fails without a browser)
test: check
	@scripts/test.sh

## check: formatting, vet and staticcheck
check: lint

lint:
	@scripts/tools.sh
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
		if [ -n "$$unformatted" ]; then echo "gofmt would change:"; echo "$$unformatted"; exit 1; fi
	go vet ./...
	go vet -tags dev ./cmd/rollcall
	staticcheck ./...
	staticcheck -tags dev ./cmd/rollcall

## api: lint the OpenAPI description (Redocly's recommended rules, via npx) and regenerate the Go client in client/ (docs/api.md)
api:
	@scripts/api.sh

## build: the production binary bin/rollcall (no development mode, no fakes)
build:
	go build -o bin/rollcall ./cmd/rollcall

## build-dev: bin/rollcall-dev, the development build (-tags dev): DEV_MODE=true adds a demo school, a mail catcher and a fake Google
build-dev:
	go build -tags dev -o bin/rollcall-dev ./cmd/rollcall

## bench: the benchmarks, figures recorded in docs/benchmarks.md
bench:
	TEST_DATABASE_URL="$${TEST_DATABASE_URL:-$$(env -u DATABASE_URL scripts/postgres.sh --db postgres)}" go test -run='^$$' -bench=. -benchmem -timeout 30m ./...

## fuzz: a minute of fuzzing the file reader
fuzz:
	go test -run='^$$' -fuzz=FuzzOpenAndRead -fuzztime=60s -fuzzminimizetime=5s ./infrastructure/spreadsheet/

## clean: stop the private PostgreSQL (if any) and remove build output; clean-data also deletes .data/
clean:
	scripts/postgres.sh --stop
	rm -rf bin

clean-data: clean
	rm -rf .data
