# Two commands on a fresh machine with Python 3.11+ and git: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_DIR ?= kosli-demo

.PHONY: demo test clean

$(BIN)/git-kosli: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@

demo: $(BIN)/git-kosli
	PATH="$(CURDIR)/$(BIN):$$PATH" git kosli demo $(DEMO_DIR)

test: $(BIN)/git-kosli
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) $(DEMO_DIR) build *.egg-info
