#!/usr/bin/env bash
# Creates the Python environment `xdplat bench` compares its analysis against (numpy + pyarrow
# from PyPI), and the analysis crate's scikit-learn comparison test runs with (scikit-learn), in a
# venv under the target dir, never system-wide and never in CI's test path.
# Idempotent. Usage: scripts/bench-setup.sh [VENV_DIR]   (default: target/bench-venv)
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${1:-target/bench-venv}
if [[ -x $venv/bin/python ]] && "$venv/bin/python" -c 'import numpy, pyarrow, sklearn' 2>/dev/null; then
  exit 0
fi
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check numpy pyarrow scikit-learn
"$venv/bin/python" -c 'import numpy, pyarrow, sklearn; print("bench venv:", numpy.__version__, pyarrow.__version__, sklearn.__version__)'
