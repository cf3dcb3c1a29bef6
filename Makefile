# Warren: run `make` (or `make help`) to list every target.
SHELL := /bin/bash
export PATH := $(PATH):/usr/local/go/bin
export GOFLAGS ?= -buildvcs=false

APPS    := $(patsubst apps/%/go.mod,%,$(wildcard apps/*/go.mod))
MODULES := runtime browsertest loadtest $(addprefix apps/,$(APPS))
FUZZTIME ?= 10s
CHAOS_KILLS ?= 20
CLUSTER_FAULTS ?= 2
N ?= 1000000
APP ?= chat

.DEFAULT_GOAL := help

.PHONY: help
help: ## List every target.
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_%-]+:.*## / {printf "  make %-16s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo "  make <app>            Build and run one app: $(APPS)"

.PHONY: deps
deps: node_modules/.package-lock.json ## Download Go modules and npm packages (npm ci when the lock changed).
	@for m in $(MODULES); do (cd $$m && GOWORK=off go mod download) || exit 1; done

# npm ci writes node_modules/.package-lock.json: it stands for an install that matches the lock.
node_modules/.package-lock.json: package-lock.json package.json
	npm ci --no-audit --no-fund --loglevel=error

.PHONY: web
web: deps ## Bundle every app's front end into apps/<app>/web/dist.
	@if [ -f package.json ]; then npm run --silent build; fi

.PHONY: build
build: web ## Build every app binary into bin/.
	@mkdir -p bin
	@for a in $(APPS); do echo "build bin/$$a"; (cd apps/$$a && go build -o ../../bin/$$a .) || exit 1; done

.PHONY: vet
vet: deps ## go vet every module, with and without the e2e and chaos build tags.
	@for m in $(MODULES); do echo "vet $$m"; (cd $$m && GOWORK=off go vet ./... && GOWORK=off go vet -tags e2e,chaos ./...) || exit 1; done

.PHONY: unit
unit: web ## Unit tests of every module (runtime with -race), each module on its own (GOWORK=off), and the front ends' (npm test).
	@if [ -f package.json ]; then echo "npm test"; npm run --silent test; fi
	@for m in $(MODULES); do \
	  flags=""; [ "$$m" = runtime ] && flags="-race"; \
	  echo "test $$m $$flags"; (cd $$m && GOWORK=off go test $$flags -count=1 -timeout 30m ./...) || exit 1; \
	done

.PHONY: e2e
# Only the tests of the e2e-tagged files run here: the packages' other tests ran in make unit.
e2e: web ## Browser tests (playwright-go with a system Chromium; installs it when missing).
	@eval "$$(scripts/e2e-setup.sh)" && for m in $(MODULES); do \
	  files=$$(cd $$m && grep -rl '^//go:build e2e' --include='*_test.go' .); \
	  pkgs=$$(echo "$$files" | xargs -r -n1 dirname | sort -u); \
	  if [ -n "$$pkgs" ]; then \
	    run=$$(cd $$m && echo "$$files" | xargs grep -ho '^func Test[A-Za-z0-9_]*' | sed 's/^func //' | sort -u | paste -sd'|'); \
	    echo "e2e $$m: $$pkgs"; (cd $$m && GOWORK=off go test -tags e2e -count=1 -timeout 30m -run "^($$run)$$" $$pkgs) || exit 1; fi; \
	done

# The browser tests of the apps against a 3-node cluster (browsertest.ClusterEnv: three
# in-process nodes on three embedded NATS servers, or three processes of the binary; each
# browser user enters by a node of its own). E2E_CLUSTER_RUN, when set, is a regexp per
# app (app=regexp ...) that picks which of its browser tests run; unset, all do. Not run
# clustered: chat's TestInspector (the admin API is refused in cluster mode).
E2E_CLUSTER_SKIP := TestInspector
E2E_CLUSTER_SHORT := chat=TestChatTwoUsers collab-editor=TestReadOnlyShare dashboard=TestLiveChartInTwoViewers multiplayer-globe=TestGlobeTakenOverStops

.PHONY: e2e-cluster
e2e-cluster: web ## Every app's browser tests against a 3-node cluster (E2E_CLUSTER_RUN="app=regexp ..." picks some).
	@eval "$$(scripts/e2e-setup.sh)" && fail=0 && for a in $(APPS); do \
	  run=$$(cd apps/$$a && grep -l '^//go:build e2e' *_test.go | xargs -r grep -ho '^func Test[A-Za-z0-9_]*' | sed 's/^func //' | paste -sd'|'); \
	  pick=$$(for p in $(E2E_CLUSTER_RUN); do [ "$${p%%=*}" = "$$a" ] && echo "$${p#*=}"; done); \
	  [ -n "$(E2E_CLUSTER_RUN)" ] && [ -z "$$pick" ] && continue; \
	  [ -n "$$run" ] || continue; echo "e2e-cluster apps/$$a $${pick:-all}"; \
	  (cd apps/$$a && WARREN_E2E_CLUSTER=3 GOWORK=off go test -tags e2e -count=1 -timeout 30m \
	    -run "$${pick:-^($$run)$$}" -skip '^($(E2E_CLUSTER_SKIP))$$' .) || fail=1; \
	done; exit $$fail

.PHONY: test
test: vet unit e2e ## Every test: vet, unit (+race), browser tests, one browser test per app against a 3-node cluster (make e2e-cluster runs all), the short cluster chaos run, a short fuzz pass (3s a target).
	@$(MAKE) --no-print-directory e2e-cluster E2E_CLUSTER_RUN='$(E2E_CLUSTER_SHORT)'
	@$(MAKE) --no-print-directory cluster-chaos-short
	@$(MAKE) --no-print-directory fuzz FUZZTIME=3s

.PHONY: fuzz
fuzz: ## Run every fuzz target for FUZZTIME each (default 10s).
	@for m in $(MODULES); do (cd $$m && for p in $$(GOWORK=off go list ./...); do \
	  list=$$(GOWORK=off go test -list '^Fuzz' $$p 2>&1) || { echo "$$list"; exit 1; }; \
	  for f in $$(echo "$$list" | grep '^Fuzz'); do \
	    echo "fuzz $$p $$f"; out=$$(GOWORK=off go test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$p 2>&1); rc=$$?; echo "$$out"; \
	    if [ $$rc -ne 0 ] && echo "$$out" | grep -q 'context deadline exceeded' && ! echo "$$out" | grep -q 'Failing input written'; then \
	      echo "fuzz: $$f failed at the -fuzztime deadline with no failing input (Go's coordinator race, golang/go#75804, fixed in Go 1.27): once more"; \
	      GOWORK=off go test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$p || exit 1; \
	    elif [ $$rc -ne 0 ]; then exit 1; fi; \
	  done; done) || exit 1; done

.PHONY: chaos
chaos: web ## SIGKILL every app CHAOS_KILLS times (default 20) under load; check nothing acknowledged is lost or duplicated.
	@report=$$(mktemp); trap 'rm -f $$report' EXIT; fail=0; for m in $(MODULES); do \
	  pkgs=$$(cd $$m && grep -rl '^//go:build chaos' --include='*_test.go' . | xargs -r -n1 dirname | sort -u); \
	  if [ -n "$$pkgs" ]; then echo "chaos $$m: $$pkgs"; \
	    (cd $$m && WARREN_CHAOS_KILLS=$(CHAOS_KILLS) WARREN_CHAOS_REPORT=$$report GOWORK=off \
	      go test -tags chaos -run '^TestChaos' -count=1 -timeout 30m $$pkgs) || fail=1; fi; \
	done; echo; echo "| app | runs | kills | acknowledged | indeterminate | lost | duplicated | databases ok | time |"; \
	echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"; cat $$report; exit $$fail

# Partitions need iptables (and root); installed with apt when missing, else skipped (the run says so).
CHAOS_IPTABLES = command -v iptables >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  { apt-get update -qq && apt-get install -y -qq iptables; } >/dev/null 2>&1; } || echo "cluster-chaos: no iptables: partitions will be skipped"

.PHONY: cluster-chaos
cluster-chaos: ## Three cluster nodes under faults (CLUSTER_FAULTS of each kind: kill, pause, stream-leader kill, partition; default 2); set, linearizability, log-epoch, two-serving and integrity checks; the deliberate bugs caught; figures table.
	@$(CHAOS_IPTABLES)
	cd runtime && WARREN_CHAOS_KILLS=$(CLUSTER_FAULTS) GOWORK=off go test -tags chaos -run '^TestChaosCluster' -count=1 -timeout 90m -v ./clusterchaos

.PHONY: cluster-chaos-short
cluster-chaos-short: ## The short cluster chaos run of make test: one fault of each kind, and fencing turned off must be caught (about 2 minutes).
	@$(CHAOS_IPTABLES)
	cd runtime && WARREN_CHAOS_KILLS=1 GOWORK=off go test -tags chaos -run '^TestChaosCluster$$|^TestChaosClusterCatchesUnfenced$$' -count=1 -timeout 10m ./clusterchaos

.PHONY: bench
bench: ## Runtime benchmarks (figures for the README's performance table).
	cd runtime && go test -run '^$$' -bench . -benchtime 2s ./...

.PHONY: bench-objects
bench-objects: ## Write N distinct objects once each (default N=1000000) and report RSS and throughput (ARGS='-data DIR -cold 2000 -cpuprofile F': more flags).
	cd runtime && go run ./internal/cmd/bench-objects -n $(N) $(ARGS)

.PHONY: loadtest
loadtest: build ## Load-test one app started locally: make loadtest APP=chat.
	go run ./loadtest $(APP) -start ./bin/$(APP)

.PHONY: compare
compare: node_modules/.package-lock.json ## Ramp Warren's chat and, with WORKERD_DIR (loadtest/compare/README.md), Cloudflare's chat template on workerd: knee, CPU per delivery, ratio.
	@npm run --silent build -w apps/chat/web
	@mkdir -p bin && (cd apps/chat && go build -o ../../bin/chat .) && (cd loadtest && go build -o ../bin/loadtest . && go build -o ../bin/compare ./compare)
	./bin/compare -chat bin/chat -loadtest bin/loadtest $(if $(WORKERD_DIR),-workerd-dir $(WORKERD_DIR)) $(ARGS)

.PHONY: cluster
cluster: node_modules/.package-lock.json ## Run three nodes of an app as one cluster on loopback (ports, data dirs printed): make cluster APP=chat.
	@npm run --silent build -w apps/$(APP)/web
	@mkdir -p bin && cd apps/$(APP) && go build -o ../../bin/$(APP) .
	scripts/cluster.sh ./bin/$(APP) $(ARGS)

.PHONY: new
new: ## Fork a template into a standalone module: make new TEMPLATE=chat NAME=example.com/me/mychat DIR=../mychat
	@[ -n "$(TEMPLATE)" ] && [ -n "$(NAME)" ] || { echo "usage: make new TEMPLATE=<$(subst $(eval) ,|,$(APPS))> NAME=<module path> [DIR=<folder>]"; exit 2; }
	cd runtime && GOWORK=off go run ./cmd/warren-new -from "$(CURDIR)" "$(TEMPLATE)" "$(NAME)" "$(abspath $(or $(DIR),../$(notdir $(NAME))))"

.PHONY: clean
clean: ## Remove build output and local data.
	rm -rf bin data apps/*/web/dist; find runtime/admin/dist -mindepth 1 ! -name .keep -delete

$(APPS): %: node_modules/.package-lock.json
	@npm run --silent build -w apps/$@/web
	@mkdir -p bin && cd apps/$@ && go build -o ../../bin/$@ .
	./bin/$@ $(ARGS)

.PHONY: globe editor
globe: multiplayer-globe ## Alias: make multiplayer-globe.
editor: collab-editor ## Alias: make collab-editor.
