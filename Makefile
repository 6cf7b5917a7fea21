# Two set-up commands for a fresh machine: `make run` and `make test`.
# Both create .venv and install the pinned requirements on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)

export TZ := UTC
PYTEST_ARGS ?= -n 2

STAGE ?= dev

.PHONY: run test lint typecheck check package bench fuzz clean

$(STAMP): requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ required"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	rm -f $(VENV)/.installed-* && touch $(STAMP)

run: $(STAMP)
	$(BIN)/python -m devstack $(ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy chalicelib/domain

check: lint typecheck test

# The deployable CloudFormation template (out/sam.json) and Lambda package, linted.
package: $(STAMP)
	rm -rf out
	AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1} $(BIN)/chalice package --stage $(STAGE) --merge-template infra/template.json out/
	$(BIN)/cfn-lint out/sam.json
	@echo "Lambda package: $$(du -k out/deployment.zip | cut -f1) KiB zipped, $$(unzip -l out/deployment.zip | tail -1 | awk '{print int($$1/1024)}') KiB unpacked"

# schemathesis against a freshly started local stack, as admin, agent and customer.
fuzz: $(STAMP)
	$(BIN)/python -m devstack.fuzz $(FUZZ_ARGS)

# Not part of the test gate: prints a table and writes bench/results.md.
bench: $(STAMP)
	$(BIN)/python -m bench.run $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
