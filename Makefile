# Quiver: one command to run the main job (`make demo`), one to pass all tests (`make test`).
# Every target sets up what it needs (Python venv, Maven build) and skips what is up to date.

PYTHON      ?= python3
MVN         ?= mvn
VENV        := .venv
PY          := $(VENV)/bin/python
VENV_STAMP  := $(VENV)/.quiver-installed
JAVA_STAMP  := build/.java-built
ENGINE_JAR  := engine/target/quiver-engine.jar
SERVER_JAR  := flight-server/target/quiver-server.jar
MVN_FLAGS   := -B -q
# Sources whose change requires a Java rebuild.
JAVA_INPUTS := pom.xml $(wildcard */pom.xml) \
               $(shell find engine/src flight-server/src benchmarks/src -type f 2>/dev/null)

.PHONY: wheel all demo test test-java test-py bench bench-quick bench-report soak jars venv clean help

all: jars venv

help:
	@echo "make demo        build, start the Flight server with TPC-H data and run the Python demo"
	@echo "make test        build and run every test (JUnit + pytest)"
	@echo "make bench       run every benchmark (<30 min) and regenerate docs/benchmarks.md + docs/img"
	@echo "make bench-quick reduced set (<5 min) into build/bench-quick/ (docs/ left alone)"
	@echo "make bench-report regenerate docs/benchmarks.md from benchmarks/results/*.json"
	@echo "make soak        10-minute load test (regenerates docs/reliability.md), long fuzz and random runs"
	@echo "make wheel       self-contained wheel with the engine and server jars, in dist/"
	@echo "make clean       remove build output and the venv"

venv: $(VENV_STAMP)
$(VENV_STAMP): py/pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	$(PY) -m pip install -q --disable-pip-version-check -e "py[test,bench]"
	touch $@

jars: $(JAVA_STAMP)
$(JAVA_STAMP): $(JAVA_INPUTS)
	$(MVN) $(MVN_FLAGS) package -DskipTests
	@mkdir -p build && touch $@

demo: jars venv
	$(PY) py/examples/demo.py --server-jar $(SERVER_JAR)

test: test-java test-py

# `verify` compiles what changed, runs the JUnit suites with the enforcer on and repackages.
test-java:
	$(MVN) -B verify -Dstyle.color=never
	@mkdir -p build && touch $(JAVA_STAMP)

test-py: jars venv
	$(PY) -m pytest py/tests $(PYTEST_ARGS)

# Full run: results in benchmarks/results/*.json, report in docs/benchmarks.md and docs/img/.
bench: jars venv
	$(PY) benchmarks/run_all.py

# Contributor loop (and what CI's smoke test runs): same suites, small sizes, its own directory
# so the published figures are not overwritten by indicative ones.
bench-quick: jars venv
	$(PY) benchmarks/run_all.py --quick --results-dir build/bench-quick
	@echo "report: build/bench-quick/benchmarks.md"

bench-report: venv
	$(PY) benchmarks/report.py

# Long trust runs (docs/reliability.md): SOAK_SECONDS of load, a 5-minute fuzz, 500 random tables.
SOAK_SECONDS ?= 600
soak: jars venv
	PYTHONPATH=py:py/tests $(PY) py/tests/trust_load.py --duration $(SOAK_SECONDS) --write-docs
	QUIVER_TRUST_CASES=500 $(PY) -m pytest -q py/tests/test_trust_random.py
	$(MVN) $(MVN_FLAGS) -pl engine,flight-server verify -Dtest=MalformedIpcFuzzTest \
	  -Dsurefire.failIfNoSpecifiedTests=false -Dquiver.fuzz.seconds=300

# A self-contained wheel: the engine and server jars go into the package data (quiver/_jars),
# built from a copy so the source tree keeps finding the freshly built jars.
wheel: jars venv
	rm -rf build/wheel-src && mkdir -p build/wheel-src/quiver/_jars dist
	cp -r py/pyproject.toml py/README.md py/quiver build/wheel-src/
	cp $(ENGINE_JAR) $(SERVER_JAR) build/wheel-src/quiver/_jars/
	$(PY) -m pip wheel -q --no-deps -w dist build/wheel-src

clean:
	-$(MVN) $(MVN_FLAGS) clean
	rm -rf build dist $(VENV) py/quiver/_jars py/*.egg-info benchmarks/data
