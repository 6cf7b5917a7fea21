# Two set-up commands for a fresh machine: `make run` and `make test`.
# Both create .venv and install the pinned requirements on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)

export TZ := UTC
PYTEST_ARGS ?= -n 2 --durations=25

STAGE ?= dev

.PHONY: run test lint typecheck check package deploy deploy-web teardown bench fuzz clean browser-deps

$(STAMP): requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ required"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	rm -f $(VENV)/.installed-* && touch $(STAMP)

run: $(STAMP)
	$(BIN)/python -m devstack --throttle template $(ARGS)

test: $(STAMP) browser-deps
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The browser tests (tests/browser) drive Debian's Chromium and inject axe-core from web/node_modules.
CHROMIUM ?= /usr/bin/chromium
browser-deps: web/node_modules/.package-lock.json
	@test -x $(CHROMIUM) || { echo "installing chromium (apt-get)"; apt-get update -q && apt-get install -y -q chromium; }

web/node_modules/.package-lock.json: web/package.json web/package-lock.json
	@command -v npm >/dev/null || { echo "installing nodejs and npm (apt-get)"; apt-get update -q && apt-get install -y -q nodejs npm; }
	npm ci --prefix web --no-audit --no-fund

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m statemachines.generate --check

typecheck: $(STAMP)
	$(BIN)/mypy chalicelib/domain

check: lint typecheck test

# The deployable CloudFormation template (out/sam.json) and Lambda package, linted.
package: $(STAMP)
	rm -rf out
	AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1} $(BIN)/chalice package --stage $(STAGE) --merge-template infra/template.json out/
	$(BIN)/python infra/slim_package.py out/deployment.zip
	$(BIN)/cfn-lint out/sam.json
	@echo "Lambda package: $$(du -k out/deployment.zip | cut -f1) KiB zipped, $$(unzip -l out/deployment.zip | tail -1 | awk '{print int($$1/1024)}') KiB unpacked"

# Deploy out/sam.json with the AWS CLI (not a project dependency: install it yourself, then
# `aws configure`). ARTIFACT_BUCKET is an existing S3 bucket of yours for the Lambda package and
# the state machine definitions. PARAMS adds template parameters, e.g. PARAMS="AlarmEmail=ops@example.com".
STACK ?= helpdesk-$(STAGE)
ARTIFACT_BUCKET ?=
PARAMS ?=
AWS ?= aws

deploy: package
	@command -v $(AWS) >/dev/null || { echo "make deploy needs the AWS CLI v2 ('$(AWS)' not found): https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html, then 'aws configure'"; exit 2; }
	@test -n "$(ARTIFACT_BUCKET)" || { echo "set ARTIFACT_BUCKET to an S3 bucket you own for the deployment artifacts: make deploy ARTIFACT_BUCKET=my-bucket STAGE=$(STAGE)"; exit 2; }
	# Uploads out/deployment.zip and each DefinitionS3Location (../statemachines/*.asl.json, relative to out/).
	$(AWS) cloudformation package --template-file out/sam.json --s3-bucket $(ARTIFACT_BUCKET) --s3-prefix $(STACK) --output-template-file out/packaged.json --use-json
	$(AWS) cloudformation deploy --template-file out/packaged.json --stack-name $(STACK) \
		--capabilities CAPABILITY_IAM CAPABILITY_AUTO_EXPAND --no-fail-on-empty-changeset \
		--parameter-overrides Stage=$(STAGE) $(PARAMS)
	$(AWS) cloudformation describe-stacks --stack-name $(STACK) --query 'Stacks[0].Outputs' --output table

# Uploads web/ to the stack's web bucket under app/ (CloudFront serves it at /app/), with the
# config.json that switches the page to Cognito's hosted sign-in (code flow + PKCE), then
# invalidates /app/* on the distribution. Run after make deploy, and after every change to web/.
deploy-web:
	@command -v $(AWS) >/dev/null || { echo "make deploy-web needs the AWS CLI v2 ('$(AWS)' not found)"; exit 2; }
	@set -e; \
	out() { $(AWS) cloudformation describe-stacks --stack-name $(STACK) --query "Stacks[0].Outputs[?OutputKey=='$$1'].OutputValue" --output text; }; \
	origin=$$($(AWS) cloudformation describe-stacks --stack-name $(STACK) --query "Stacks[0].Parameters[?ParameterKey=='WebOrigin'].ParameterValue" --output text); \
	bucket=$$(out WebBucketName); distribution=$$(out WebDistributionId); \
	mkdir -p out/web; \
	printf '{"auth": "cognito", "domain": "%s", "clientId": "%s", "redirectUri": "%s/app/"}\n' "$$(out SignInDomain)" "$$(out UserPoolClientId)" "$$origin" > out/web/config.json; \
	$(AWS) s3 sync web/ "s3://$$bucket/app/" --delete --exclude "node_modules/*" --exclude "package.json" --exclude "package-lock.json" --exclude ".*" --exclude "config.json" --cache-control no-cache; \
	$(AWS) s3 cp out/web/config.json "s3://$$bucket/app/config.json" --content-type application/json --cache-control no-store; \
	$(AWS) cloudfront create-invalidation --distribution-id "$$distribution" --paths "/app/*" >/dev/null; \
	echo "Web app: $$(out WebUrl) (Cognito sign-in returns to $$origin/app/)"

# Deletes the stack. The table and both buckets are retained (DeletionPolicy Retain): delete them
# yourself once you are sure (docs/operations.md). prod's table and user pool have deletion protection.
teardown:
	@command -v $(AWS) >/dev/null || { echo "make teardown needs the AWS CLI v2 ('$(AWS)' not found)"; exit 2; }
	$(AWS) cloudformation delete-stack --stack-name $(STACK)
	$(AWS) cloudformation wait stack-delete-complete --stack-name $(STACK)
	@echo "Stack $(STACK) deleted; retained: the table and the attachments and inbound-mail buckets."

# schemathesis against a freshly started local stack, as admin, agent and customer.
fuzz: $(STAMP)
	$(BIN)/python -m devstack.fuzz $(FUZZ_ARGS)

# Not part of the test gate: prints a table and writes bench/results.md.
bench: $(STAMP)
	$(BIN)/python -m bench.run $(BENCH_ARGS)
	$(BIN)/python -m bench.web_size

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
