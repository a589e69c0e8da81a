# Every target sets up what it needs; each is quick when already done.
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: system-deps setup testbin helm deploy-tools demo test lint bench clean

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev,postgres]'
	touch $@

# boto3, an S3 client independent of the bot and the simulator, for tests/test_s3_boto3.py. Its own
# environment: botocore needs python-dateutil < 3, the pinned kubernetes client needs >= 3.
BOTO3_VENV ?= .venv-boto3
$(BOTO3_VENV)/.installed: tests/boto3_client/requirements.txt
	python3 -m venv $(BOTO3_VENV)
	$(BOTO3_VENV)/bin/pip install --quiet --upgrade pip
	$(BOTO3_VENV)/bin/pip install --quiet -r tests/boto3_client/requirements.txt
	touch $@

setup: $(VENV)/.installed $(BOTO3_VENV)/.installed

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
	rm -rf $(VENV) $(BOTO3_VENV) .pytest_cache .mypy_cache .ruff_cache
