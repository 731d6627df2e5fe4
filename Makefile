# The two commands a user needs: `make demo` and `make test`. Both set up first (idempotent).
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha256sum | cut -c1-12)
SYSPKGS := libegl1 libegl-mesa0 libosmesa6 libgl1 chromium fonts-dejavu-core
export MUJOCO_GL ?= egl
export PYOPENGL_PLATFORM ?= egl
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export ANONYMIZED_TELEMETRY := False

.PHONY: setup sys-deps demo test test-all lint format typecheck bench clean

setup: sys-deps $(STAMP)

sys-deps:
	@missing=""; for p in $(SYSPKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

$(STAMP): pyproject.toml
	@[ -x $(BIN)/python ] || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@rm -f $(VENV)/.installed-*; touch $(STAMP)

demo: setup
	$(BIN)/robotops demo --auto-approve

test: setup
	$(BIN)/python -m pytest -q -m "not slow" -p no:cacheprovider

test-all: setup
	$(BIN)/python -m pytest -q -p no:cacheprovider

lint: setup
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

format: setup
	$(BIN)/ruff format . && $(BIN)/ruff check --fix .

typecheck: setup
	$(BIN)/mypy robotops/settings.py robotops/errors.py sim policies tools memory

bench: setup
	$(BIN)/python benchmarks/fleet_sim.py
	$(BIN)/python benchmarks/log_window.py --size-mb 256
	$(BIN)/python benchmarks/ingest.py --size-mb 500
	$(BIN)/python benchmarks/upload_plan.py --robots 3 --minutes 2
	$(BIN)/python benchmarks/campaign.py
	$(BIN)/python benchmarks/perception_finetune.py

clean:
	rm -rf $(VENV) .robotops
