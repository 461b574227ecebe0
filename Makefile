# Build (and lint) the CloudFormation/SAM template of a stage; see docs/deploy.md.
#
#   make package STAGE=prod    -> build/prod/sam.json + build/prod/deployment.zip
#   make lint STAGE=prod       -> cfn-lint on build/prod/sam.json
#   make clean

STAGE ?= dev
APP := headless-cms
VENV ?= .venv
BUILD_DIR ?= build
OUT := $(BUILD_DIR)/$(STAGE)

# The project venv when there is one, else whatever is on PATH.
PYTHON ?= $(if $(wildcard $(VENV)/bin/python),$(VENV)/bin/python,python3)
CHALICE ?= $(if $(wildcard $(VENV)/bin/chalice),$(VENV)/bin/chalice,chalice)
CFN_LINT ?= $(PYTHON) -m cfnlint

# chalice needs a region to start; the template itself uses ${AWS::Region}.
export AWS_DEFAULT_REGION ?= us-east-1

.PHONY: package lint clean check-stage

check-stage:
	@case "$(STAGE)" in dev|prod) ;; *) echo "STAGE must be dev or prod, not '$(STAGE)'" >&2; exit 2;; esac

# The render function's SQS event source is named from CMS_EVENTS_QUEUE when chalice imports
# the app; it must be the queue the merge template creates (checked by --verify).
package: check-stage
	rm -rf $(OUT)
	$(PYTHON) deploy/build_template.py --stage $(STAGE) --output $(OUT)/merge-template.json
	CMS_EVENTS_QUEUE=$(APP)-$(STAGE)-events $(CHALICE) package --stage $(STAGE) \
		--merge-template $(OUT)/merge-template.json $(OUT)
	$(PYTHON) deploy/build_template.py --stage $(STAGE) --verify $(OUT)/sam.json
	@echo "$(OUT)/sam.json and $(OUT)/deployment.zip ($$(du -h $(OUT)/deployment.zip | cut -f1))"

lint: check-stage
	@test -f $(OUT)/sam.json || { echo "no $(OUT)/sam.json: run 'make package STAGE=$(STAGE)' first" >&2; exit 2; }
	$(CFN_LINT) --non-zero-exit-code informational $(OUT)/sam.json

clean:
	rm -rf $(BUILD_DIR)
