# Rollcall — the commands a newcomer needs. Each target says what it does.
# scripts/postgres.sh finds or starts PostgreSQL (see README).

GOBIN := $(shell go env GOPATH)/bin
export PATH := $(GOBIN):$(PATH)

.PHONY: run test check build bench fuzz lint clean clean-data

## run: build, migrate and serve on :8080 in development mode (demo school, emails caught at /dev/mail)
run: build .data/secret-key
	@DATABASE_URL="$${DATABASE_URL:-$$(scripts/postgres.sh)}" && export DATABASE_URL && \
		export ROLLCALL_SECRET_KEY="$${ROLLCALL_SECRET_KEY:-$$(cat .data/secret-key)}" DEV_MODE=true && \
		bin/rollcall migrate && exec bin/rollcall serve

# The development key that encrypts uploads; production sets ROLLCALL_SECRET_KEY itself.
.data/secret-key:
	@mkdir -p .data && head -c 32 /dev/urandom | base64 > $@ && chmod 600 $@

## test: every check, then every test (race detector on) against a real PostgreSQL
test: check
	@scripts/tools.sh chromium
	TEST_DATABASE_URL="$$(scripts/postgres.sh --db postgres)" \
	ROLLCALL_TEST_CHROMIUM="$$(command -v chromium || true)" \
		go test -race -count=1 -timeout 15m ./...

## check: formatting, vet and staticcheck
check: lint

lint:
	@scripts/tools.sh
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
		if [ -n "$$unformatted" ]; then echo "gofmt would change:"; echo "$$unformatted"; exit 1; fi
	go vet ./...
	staticcheck ./...

build:
	go build -o bin/rollcall ./cmd/rollcall

## bench: the benchmarks, figures recorded in docs/benchmarks.md
bench:
	TEST_DATABASE_URL="$$(scripts/postgres.sh --db postgres)" go test -run='^$$' -bench=. -benchmem -timeout 30m ./...

## fuzz: a minute of fuzzing the file reader
fuzz:
	go test -run='^$$' -fuzz=FuzzOpenAndRead -fuzztime=60s -fuzzminimizetime=5s ./infrastructure/spreadsheet/

## clean: stop the private PostgreSQL (if any) and remove build output; clean-data also deletes .data/
clean:
	scripts/postgres.sh --stop
	rm -rf bin

clean-data: clean
	rm -rf .data
