# ConvLab: `make run` serves the app, `make test` runs every test (browser tests included);
# `make test-train` (optional) adds PyTorch and runs the training tests without skips.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
TRAIN_STAMP := $(VENV)/.installed-train
HOST   ?= 127.0.0.1
PORT   ?= 8000
CHROMIUM := /usr/bin/chromium

.PHONY: install install-train run test test-train lint chromium redis nginx cluster-test bench load clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Re-installs only when pyproject.toml changed since the last install.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

# The `train` extra: PyTorch 2.13, CPU wheel. Only `make test-train` needs it.
$(TRAIN_STAMP): pyproject.toml $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[dev,train]"
	touch $(TRAIN_STAMP)

install-train: $(TRAIN_STAMP)

run: install
	$(BIN)/convlab serve --host $(HOST) --port $(PORT)

chromium:
	@if [ -x $(CHROMIUM) ]; then :; \
	elif [ "$$(id -u)" = "0" ]; then \
		echo "Installing Debian's chromium for the browser tests..."; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core >/dev/null; \
	else \
		echo "Browser tests need Chromium at $(CHROMIUM). Install it with: sudo apt-get install -y chromium"; \
		exit 1; \
	fi

# The store's tests start a real redis-server (Debian's package) on a loopback port.
redis:
	@if command -v redis-server >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = "0" ]; then \
		echo "Installing Debian's redis-server for the store's tests..."; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; \
	else \
		echo "The store's tests need redis-server. Install it with: sudo apt-get install -y redis-server"; \
		exit 1; \
	fi

# The cluster test puts a real nginx (Debian's package) in front of two app processes.
nginx:
	@if [ -x /usr/sbin/nginx ]; then :; \
	elif [ "$$(id -u)" = "0" ]; then \
		echo "Installing Debian's nginx for the cluster test..."; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null; \
	else \
		echo "The cluster test needs nginx at /usr/sbin/nginx. Install it with: sudo apt-get install -y nginx"; \
		exit 1; \
	fi

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy app engine course datasets
	$(BIN)/hadolint deploy/Dockerfile

# tests/training runs in `make test-train` (with PyTorch), not twice. The tests run in as
# many processes as the machine has cores (pytest-xdist; each starts its own app servers);
# `make test PYTEST_WORKERS=0` runs them in this one process.
PYTEST_WORKERS ?= auto
test: install chromium redis lint
	$(BIN)/python -m pytest -q -n $(PYTEST_WORKERS) --ignore=tests/training

# Optional (CI runs it after `make test`): tests/training with PyTorch installed. With
# CONVLAB_TRAIN_STRICT=1 a missing torch/onnx is an error and a skipped test fails, so
# this target cannot pass by skipping. The shipped-model check needs CONVLAB_DATA_DIR.
test-train: install-train
	CONVLAB_TRAIN_STRICT=1 $(BIN)/python -m pytest -q tests/training

# deploy/'s topology without containers: nginx (deploy/nginx.conf), two apps, Redis.
cluster-test: install redis nginx
	$(BIN)/python -m pytest -q -m cluster tests/cluster

# Ratios against references measured in the same run: the engine vs onnxruntime
# (benchmarks.run), a training step vs PyTorch (learn_bench, needs the train extra), an
# epoch through the HTTP API vs the engine alone (learn_api_bench), Grad-CAM's server time
# per model with onnxruntime's forward beside it (gradcam_bench), held-out predictions, top
# patches and their lookups per model (explain_bench). Each exits 1 when a
# target is missed; all three run, and the target fails if any missed.
bench: install-train
	@status=0; \
	$(BIN)/python -m benchmarks.run || status=1; \
	$(BIN)/python -m benchmarks.learn_bench || status=1; \
	$(BIN)/python -m benchmarks.learn_api_bench || status=1; \
	$(BIN)/python -m benchmarks.gradcam_bench || status=1; \
	$(BIN)/python -m benchmarks.explain_bench || status=1; \
	exit $$status

load: install
	$(BIN)/python -m benchmarks.load

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache tests/browser/screenshots
