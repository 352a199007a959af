# Two commands on a fresh machine with Python 3.11+ and git: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
MANPAGE := $(VENV)/share/man/man1/git-kosli.1
DEMO_DIR ?= kosli-demo

.PHONY: demo test lint bench clean

$(BIN)/git-kosli: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@

# The page the wheel ships (tests/test_help.py holds it current), regenerated when the commands change;
# an editable install copies no data files, so `git kosli install-man` puts it where man finds it from $(BIN).
man/git-kosli.1: $(BIN)/git-kosli $(wildcard git_kosli/*.py git_kosli/*/*.py)
	$(BIN)/python -m git_kosli.manpage $@

$(MANPAGE): man/git-kosli.1
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/git-kosli install-man $(VENV)/share/man

demo: $(BIN)/git-kosli $(MANPAGE)
	PATH="$(CURDIR)/$(BIN):$$PATH" git kosli demo $(DEMO_DIR)

test: $(BIN)/git-kosli $(MANPAGE)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest -q

# The rules CI holds besides the tests: lint, format and strict types (package and tests).
lint: $(BIN)/git-kosli
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Benchmarks against plain git, run alternately (not part of `make test`; a real install in .bench/venv):
# make bench SIZES=10000, or on a real history: make bench SIZES= BENCH_REPO=path/to/a/clone (BENCH_ROWS=where,log)
SIZES ?= 10000,100000,1000000
bench: $(BIN)/git-kosli
	SIZES=$(SIZES) $(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) $(DEMO_DIR) .bench build *.egg-info
