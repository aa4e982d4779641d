# The two commands of the README: `make demo` and `make test`. Both set up .venv first.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: demo test lint typecheck unit bench clean browser dist console

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/trailsql demo

test: $(STAMP) browser lint typecheck unit

# Headless Chromium and its driver (Debian's packages) open the HTML report and drive the web
# console in the tests; installed when missing and we may (root with apt), else those tests are
# skipped and say why.
browser:
	@{ command -v chromium && command -v chromedriver; } >/dev/null || { [ "$$(id -u)" = 0 ] && \
	  command -v apt-get >/dev/null && apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; } || \
	  echo "chromium or chromium-driver could not be installed: the browser tests will be skipped"

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest -q -n 2 --dist loadgroup src tests

# A wheel and an sdist in dist/ to install elsewhere (the project is not on PyPI). `build`
# comes with the dev extra; it builds in an isolated env with hatchling from the index.
dist: $(STAMP)
	rm -rf dist
	$(BIN)/python -m build --outdir dist .

# The web console's front end (console/): CodeMirror and Chart.js bundled by esbuild into
# src/trailsql/serve/console/ (committed, so users need no Node). Reproducible from package-lock.json.
console:
	cd console && npm ci && npm run build

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
