# Two entry points for a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The pinned wheels install from local files on the project's machines; elsewhere any torch>=2.4 works:
#   make test TORCH_SPEC="torch torchvision"
TORCH_SPEC ?= torch==2.14.1 torchvision==0.29.1
STAMP := $(VENV)/.installed

.PHONY: install demo test lint reports browser latex clean gpu-check gpu-bundle

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip 2>&1 | grep -v "is ignored" || true
	$(BIN)/pip install -q $(TORCH_SPEC) 2>&1 | grep -v "is ignored" || true
	$(BIN)/pip install -q -e ".[metrics,train,ray,study,metaeval,dev]" 2>&1 | grep -v "is ignored" || true
	# AMT-S (Mot-Smth) and VBench's reference functions live only inside the vbench wheel, whose
	# pins (transformers==4.33.2, numpy<2) must never enter the environment: install it without deps.
	$(BIN)/pip install -q --no-deps "vbench==0.1.5" 2>&1 | grep -v "is ignored" || true
	# Img-Q's MUSIQ comes from pyiqa, which declares bitsandbytes, datasets, facexlib, tensorboard, ruff,
	# yapf, ... that jtbench never imports; bitsandbytes (imported by diffusers whenever present) asks the
	# Hub for a kernel at import on AVX512-BF16 CPUs. Install it without deps: pyiqa.archs needs only
	# opencv, scipy, pyyaml, requests and huggingface_hub, which the extras bring.
	$(BIN)/pip install -q --no-deps "pyiqa==0.1.16" 2>&1 | grep -v "is ignored" || true
	$(BIN)/python -c "import jtbench, torch, av, vbench, pyiqa.archs.musiq_arch" 
	touch $(STAMP)

install: $(STAMP)

browser:
	@command -v chromium >/dev/null 2>&1 || { (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || echo "chromium could not be installed; browser tests will be skipped"; }

# pdflatex + booktabs for the test that compiles `jtbench report --format latex` (skipped when absent).
latex:
	@{ command -v pdflatex >/dev/null 2>&1 && kpsewhich booktabs.sty >/dev/null 2>&1; } || { (apt-get update -qq && apt-get install -y -qq --no-install-recommends texlive-latex-recommended >/dev/null) || echo "pdflatex could not be installed; the LaTeX compile test will be skipped"; }

# The three jobs (run, score your own videos, report beside the paper) on drawn stand-in media with
# tiny random backbones: no data, no weights, no network (jtbench/cli/demo.py).
demo: install
	$(BIN)/jtbench demo --out runs/demo

test: install browser latex
	$(BIN)/python -m pytest -m "not slow and not gpu" -q

lint: install
	$(BIN)/ruff check .

# One prepared measurement on a GPU inside a hard budget (benchmarks/gpu_check.py): writes
# benchmarks/results/gpu-<device>-<date>.json and .md (and copies them into OUT=DIR after every item).
# `make gpu-check DEVICE=cpu TINY=1` checks the code path.
# On a node without a registry: `make gpu-bundle` here, copy the clone with gpu-bundle/ there, then
# `make gpu-check OFFLINE=1 OUT=DIR` (benchmarks/gpu_offline.py: venv over PYTHON, pip --no-index, no `install`).
DEVICE ?= cuda
BUDGET ?= 420
TINY ?=
OFFLINE ?=
OUT ?=
PYTHON_VERSION ?= 3.12
GPU_BUNDLE ?= gpu-bundle
GPU_VENV ?= .venv-gpu
GPU_CHECK_ARGS ?=
IS_OFFLINE := $(filter 1 yes true,$(OFFLINE))
CHECK_ARGS = --device $(DEVICE) --budget $(BUDGET) $(if $(filter 1 yes true,$(TINY)),--tiny) $(GPU_CHECK_ARGS)
gpu-check: $(if $(IS_OFFLINE),,install)
ifneq ($(IS_OFFLINE),)
	$(PYTHON) benchmarks/gpu_offline.py --bundle $(GPU_BUNDLE) --venv $(GPU_VENV) $(if $(OUT),--out $(OUT)) -- $(CHECK_ARGS)
else
	$(BIN)/python benchmarks/gpu_check.py $(CHECK_ARGS) $(if $(OUT),--copy-to $(OUT))
endif

# The wheels the offline GPU node lacks, for its Python (benchmarks/gpu_bundle.py); fails over 60 MiB with the tree.
gpu-bundle:
	$(PYTHON) benchmarks/gpu_bundle.py --python-version $(PYTHON_VERSION) --out $(GPU_BUNDLE)

reports: install
	$(BIN)/python -m jtbench.report.rebuild reports

clean:
	rm -rf $(VENV) runs .pytest_cache
