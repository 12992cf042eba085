#!/usr/bin/env bash
# Creates the Python environment `xdplat bench` compares its analysis against (numpy + pyarrow
# from PyPI), and the tests comparing with other tools run with (pyarrow reading our parquet,
# scikit-learn's KMeans, DuckDB reading a fleet's store, ansible-core driving the fleet
# collection in ansible/), in a venv under the target dir, never system-wide. scripts/test.sh runs
# it; python3-venv comes from scripts/setup.sh --with-test-deps.
# Idempotent. Usage: scripts/bench-setup.sh [VENV_DIR]   (default: target/bench-venv)
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${1:-target/bench-venv}
if [[ -x $venv/bin/python ]] && "$venv/bin/python" -c 'import numpy, pyarrow, sklearn, duckdb, ansible' 2>/dev/null; then
  exit 0
fi
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check numpy pyarrow scikit-learn duckdb \
  'ansible-core>=2.15,<2.18'
"$venv/bin/python" -c 'import numpy, pyarrow, sklearn, duckdb, ansible; print("bench venv:", numpy.__version__, pyarrow.__version__, sklearn.__version__, duckdb.__version__, ansible.__version__)'
