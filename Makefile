# swarmops.cluster: two commands for a fresh machine.
#   make lab    brings up the local lab cluster (installs and starts what it needs)
#   make test   runs the whole test suite
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV ?= .venv
PY := $(VENV)/bin/python
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg

.PHONY: help deps lab lab-destroy test lint unit roles sanity targets integration molecule build

help:
	@echo "make lab          bring up the local lab cluster (Docker-in-Docker) and print its summary"
	@echo "make lab-destroy  remove the lab's containers, volumes, network and secrets"
	@echo "make test         run the whole test suite (lint, unit, roles, sanity, build, targets, integration, bench, molecule)"
	@echo "make bench        site.yml against the floor (docker CLI) and the peer (plain playbook) (QUICK=1 PAIRS= WORKERS= SCALE_PAIRS= CASES=)"

$(VENV)/.installed: requirements.txt requirements-test.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-test.txt
	touch $@

.collections/ansible_collections/swarmops/cluster:
	mkdir -p $(@D)
	ln -sfn ../../.. $@

deps: $(VENV)/.installed .collections/ansible_collections/swarmops/cluster

lab: deps
	lab/up.sh

lab-destroy:
	lab/destroy.sh

test: deps
	tests/run.sh

lint: deps
	tests/run.sh lint

unit: deps
	tests/run.sh unit

roles: deps
	tests/run.sh roles

sanity: deps
	tests/run.sh sanity

targets: deps
	tests/run.sh targets

integration: deps
	tests/run.sh integration

molecule: deps
	tests/run.sh molecule

build: deps
	ansible-galaxy collection build --force --output-path .lab/dist

# make bench [QUICK=1] [PAIRS=3] [WORKERS="3 6 12 24"] [SCALE_PAIRS=1] [CASES="cold scale"]
# Results in bench/results/ (results.md, results.json, scaling.png, logs/); see bench/run.py.
.PHONY: bench
$(VENV)/.bench-installed: requirements-bench.txt $(VENV)/.installed
	$(PY) -m pip install --quiet -r requirements-bench.txt
	touch $@

bench: deps $(VENV)/.bench-installed
	$(PY) bench/run.py $(if $(filter-out 0 no false,$(QUICK)),--quick) $(if $(PAIRS),--pairs $(PAIRS)) \
	  $(if $(WORKERS),--workers "$(WORKERS)") $(if $(SCALE_PAIRS),--scale-pairs $(SCALE_PAIRS)) \
	  $(if $(CASES),--cases "$(CASES)")
