# Every target sets up what it needs; each is quick when already done.
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: system-deps setup testbin helm deploy-tools demo test lint bench clean

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev,postgres]'
	touch $@

setup: $(VENV)/.installed

# Debian packages the tests use (PostgreSQL, Prometheus), installed only when missing.
system-deps:
	.ci/system-deps

# kube-apiserver + etcd for tests and the sandbox, cached outside the work tree.
testbin:
	sandbox/kube/build-testbin.sh

# Helm 4 (renders deploy/helm/minio-chatops), pinned in deploy/tools/go.mod, cached outside the work tree.
helm:
	deploy/build-helm.sh

# Every tool that renders deploy/ (today: Helm).
deploy-tools: helm

demo: setup testbin
	$(VENV)/bin/minio-chatops demo

test: system-deps setup testbin deploy-tools
	$(PY) -m pytest

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

bench: setup testbin
	$(PY) bench/ack_latency.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
