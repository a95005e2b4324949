# foley-edge: the two commands a user needs are `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.foley-edge-installed
VIDEO_VENV := .venv-video
VIDEO_STAMP := $(VIDEO_VENV)/.foley-edge-installed
DEMO_OUT ?= out/demo

.PHONY: setup setup-video system demo test lint clean

setup: system $(STAMP)

system:
	@tools/setup_system.sh

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev,ray]'
	@touch $(STAMP)

# MediaPipe (video → keypoints) needs numpy < 2: its own virtualenv, plus sample footage.
setup-video: setup $(VIDEO_STAMP)

$(VIDEO_STAMP): tools/setup_video.sh
	PYTHON=$(PYTHON) tools/setup_video.sh $(VIDEO_VENV)

demo: setup
	$(VENV)/bin/foley-edge demo --out $(DEMO_OUT)

lint: setup
	$(VENV)/bin/ruff check edge export firmware_bridge benchmarks foley_edge tests

test: setup setup-video lint
	$(VENV)/bin/python -m pytest

clean:
	rm -rf out build .pytest_cache
