# Build (and lint) the CloudFormation/SAM template of a stage; see docs/deploy.md.
#
#   make package STAGE=prod    -> build/prod/sam.json + build/prod/deployment.zip
#   make lint STAGE=prod       -> cfn-lint on build/prod/sam.json
#   make deploy STAGE=prod ARTIFACTS_BUCKET=my-artifacts [ADMIN_KEY=...]
#   make clean

STAGE ?= dev
APP := headless-cms
VENV ?= .venv
BUILD_DIR ?= build
OUT := $(BUILD_DIR)/$(STAGE)

# The project venv when there is one, else whatever is on PATH.
PYTHON ?= $(if $(wildcard $(VENV)/bin/python),$(VENV)/bin/python,python3)
CHALICE ?= $(if $(wildcard $(VENV)/bin/chalice),$(VENV)/bin/chalice,chalice)
CFN_LINT ?= $(if $(wildcard $(VENV)/bin/cfn-lint),$(VENV)/bin/cfn-lint,cfn-lint)

STACK_NAME ?= $(APP)-$(STAGE)
AWS ?= aws

.PHONY: package lint deploy clean check-stage

check-stage:
	@case "$(STAGE)" in dev|prod) ;; *) echo "STAGE must be dev or prod, not '$(STAGE)'" >&2; exit 2;; esac

# The SQS event sources of the render, thumbnails and webhooks functions are named from
# CMS_EVENTS_QUEUE, CMS_MEDIA_QUEUE and CMS_WEBHOOKS_QUEUE when chalice imports the app; they
# must be the queues the merge template creates (checked by --verify). chalice wants a region
# to start (any will do: the template uses ${AWS::Region}).
package: check-stage
	rm -rf $(OUT)
	$(PYTHON) deploy/build_template.py --stage $(STAGE) --output $(OUT)/merge-template.json
	AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1} CMS_EVENTS_QUEUE=$(APP)-$(STAGE)-events \
		CMS_MEDIA_QUEUE=$(APP)-$(STAGE)-media CMS_WEBHOOKS_QUEUE=$(APP)-$(STAGE)-webhooks \
		$(CHALICE) package --stage $(STAGE) \
		--merge-template $(OUT)/merge-template.json $(OUT)
	$(PYTHON) deploy/build_template.py --stage $(STAGE) --verify $(OUT)/sam.json
	@echo "$(OUT)/sam.json and $(OUT)/deployment.zip ($$(du -h $(OUT)/deployment.zip | cut -f1))"

lint: check-stage
	@test -f $(OUT)/sam.json || { echo "no $(OUT)/sam.json: run 'make package STAGE=$(STAGE)' first" >&2; exit 2; }
	$(CFN_LINT) $(OUT)/sam.json --include-checks I --non-zero-exit-code informational

# Uploads the zip, then creates or updates the stack. ADMIN_KEY (first deploy: required) sets
# the AdminKey parameter; left unset, an update keeps the current value.
deploy: check-stage
	@test -n "$(ARTIFACTS_BUCKET)" || { echo "set ARTIFACTS_BUCKET to an S3 bucket for deployment artifacts" >&2; exit 2; }
	@test -f $(OUT)/sam.json || { echo "no $(OUT)/sam.json: run 'make package STAGE=$(STAGE)' first" >&2; exit 2; }
	$(AWS) cloudformation package --template-file $(OUT)/sam.json --use-json \
		--s3-bucket $(ARTIFACTS_BUCKET) --s3-prefix $(STACK_NAME) \
		--output-template-file $(OUT)/packaged.json
	$(AWS) cloudformation deploy --template-file $(OUT)/packaged.json --stack-name $(STACK_NAME) \
		--s3-bucket $(ARTIFACTS_BUCKET) --s3-prefix $(STACK_NAME) \
		--capabilities CAPABILITY_IAM CAPABILITY_AUTO_EXPAND --no-fail-on-empty-changeset \
		$${ADMIN_KEY:+--parameter-overrides AdminKey=$$ADMIN_KEY}
	$(AWS) cloudformation describe-stacks --stack-name $(STACK_NAME) \
		--query 'Stacks[0].Outputs[].[OutputKey,OutputValue]' --output table

clean:
	rm -rf $(BUILD_DIR)
