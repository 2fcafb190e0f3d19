# SAM build targets and the SAM CLI's own virtualenv. Included by the root Makefile.
#
# `sam build` runs `make --makefile <repo>/Makefile build-<LogicalId>` for every resource whose
# Metadata says `BuildMethod: makefile` (template.yaml sets ContextPath/WorkingDirectory to the repo
# root), with ARTIFACTS_DIR set to that resource's .aws-sam/build/<LogicalId> directory.
# Paths below are absolute, so the targets do not depend on the directory make runs in.
#
# Nothing here needs Docker or a python3.13 interpreter: dependencies are installed as Lambda-platform
# wheels by pip's --platform/--python-version, whatever Python runs pip.

GOFLOW_ROOT := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))

PYTHON ?= python3
comma := ,

# The SAM CLI pins its own boto3/pydantic: it never shares the project's .venv.
SAM_VENV := $(GOFLOW_ROOT)/.sam-venv
SAM_STAMP := $(SAM_VENV)/.installed-stamp
SAM_CLI_VERSION := 1.170.0
CFN_LINT_VERSION := 1.58.0
SAM := SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam

# Must match template.yaml's Globals.Function.Architectures and the layer's CompatibleArchitectures.
LAMBDA_ARCH := arm64
LAMBDA_PYTHON_VERSION := 3.13
PIP_PLATFORM_arm64 := aarch64
PIP_PLATFORM_x86_64 := x86_64
# manylinux2014 (glibc 2.17) plus manylinux_2_28: the python3.13 runtime runs on Amazon Linux 2023
# (glibc 2.34), so wheels built for either are compatible.
LAMBDA_PIP_FLAGS := --platform manylinux2014_$(PIP_PLATFORM_$(LAMBDA_ARCH)) \
	--platform manylinux_2_28_$(PIP_PLATFORM_$(LAMBDA_ARCH)) \
	--implementation cp --python-version $(LAMBDA_PYTHON_VERSION) --only-binary=:all: --no-compile \
	--disable-pip-version-check --quiet

# Optional: a working python3.13 byte-compiles the layer (faster cold starts: /opt is read-only on
# Lambda, so .pyc files cannot be written there at run time). Without one, the layer ships sources only.
LAMBDA_PYTHON ?= python$(LAMBDA_PYTHON_VERSION)

# These targets are meant to be run by `sam build`, which sets ARTIFACTS_DIR.
define require_artifacts_dir
	@test -n "$(ARTIFACTS_DIR)" || { echo "ARTIFACTS_DIR is not set: run 'make build' (sam build)" >&2; exit 2; }
endef

# copy_tree SRC DEST: copy a source tree without bytecode caches (tar: GNU and BSD alike).
define copy_tree
	mkdir -p "$(2)"
	tar -C "$(1)" --exclude=__pycache__ --exclude='*.pyc' --exclude=.pytest_cache -cf - . | tar -C "$(2)" -xf -
endef

$(SAM_STAMP):
	@test -x $(SAM_VENV)/bin/python || $(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install --quiet --disable-pip-version-check \
		aws-sam-cli==$(SAM_CLI_VERSION) cfn-lint==$(CFN_LINT_VERSION)
	@touch $(SAM_STAMP)

.PHONY: sam-venv build-ApiFunction build-ExecutorFunction build-OutcomeFunction build-GoFlowLayer

sam-venv: $(SAM_STAMP)

# Functions: only their handler modules (their code imports `goflow` from GoFlowLayer).
build-ApiFunction:
	$(require_artifacts_dir)
	$(call copy_tree,$(GOFLOW_ROOT)/functions/api,$(ARTIFACTS_DIR))

build-ExecutorFunction:
	$(require_artifacts_dir)
	$(call copy_tree,$(GOFLOW_ROOT)/functions/executor,$(ARTIFACTS_DIR))

build-OutcomeFunction:
	$(require_artifacts_dir)
	$(call copy_tree,$(GOFLOW_ROOT)/functions/executor,$(ARTIFACTS_DIR))

# Layer: python/goflow/** plus the pinned runtime dependencies, as Lambda imports them from /opt/python.
# The pip install (the slow, network-bound part) is cached under .aws-sam/goflow-layer-deps/, keyed on
# requirements.txt, the pip flags and whether byte-compiling: warm builds reuse it and work offline.
LAYER_REQUIREMENTS := $(GOFLOW_ROOT)/layers/goflow/requirements.txt
LAYER_DEPS_CACHE := $(GOFLOW_ROOT)/.aws-sam/goflow-layer-deps
# Succeeds when $(LAMBDA_PYTHON) exists and is the Lambda runtime's minor version.
HAVE_LAMBDA_PYTHON = $(LAMBDA_PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != ($(subst .,$(comma),$(LAMBDA_PYTHON_VERSION))))' >/dev/null 2>&1
COMPILE = $(LAMBDA_PYTHON) -m compileall -q -j 0 --invalidation-mode unchecked-hash

build-GoFlowLayer:
	$(require_artifacts_dir)
	@set -e; \
	if $(HAVE_LAMBDA_PYTHON); then compile=yes; else compile=no; fi; \
	key=$$( { cat "$(LAYER_REQUIREMENTS)"; echo '$(LAMBDA_PIP_FLAGS)' "compile=$$compile"; } | cksum | cut -d' ' -f1); \
	deps="$(LAYER_DEPS_CACHE)/$$key"; \
	if [ ! -f "$$deps/.complete" ]; then \
		echo "installing layer dependencies into $$deps"; \
		rm -rf "$$deps"; \
		$(PYTHON) -m pip install $(LAMBDA_PIP_FLAGS) -t "$$deps" -r "$(LAYER_REQUIREMENTS)"; \
		rm -rf "$$deps/bin"; \
		if [ $$compile = yes ]; then $(COMPILE) "$$deps"; fi; \
		touch "$$deps/.complete"; \
		find "$(LAYER_DEPS_CACHE)" -mindepth 1 -maxdepth 1 ! -name "$$key" -exec rm -rf {} +; \
	else \
		echo "layer dependencies from cache $$deps"; \
	fi; \
	mkdir -p "$(ARTIFACTS_DIR)/python"; \
	cp -R "$$deps/." "$(ARTIFACTS_DIR)/python/"; \
	rm -f "$(ARTIFACTS_DIR)/python/.complete"
	$(call copy_tree,$(GOFLOW_ROOT)/shared/goflow,$(ARTIFACTS_DIR)/python/goflow)
	@if $(HAVE_LAMBDA_PYTHON); then \
		echo "byte-compiling goflow with $(LAMBDA_PYTHON)"; \
		$(COMPILE) "$(ARTIFACTS_DIR)/python/goflow"; \
	fi
