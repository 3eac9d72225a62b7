"""Packaging: pyproject.toml declares what workbench/ imports, with ranges that admit the lock `make` installs
(requirements.txt, requirements-test.txt), test-only packages only in the `test` extra; the bootstrap's torch
build choice (TORCH=cpu|cuda, cpu unless a working nvidia-smi lists a GPU)."""
from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
from functools import cache
from importlib.metadata import PackageNotFoundError, packages_distributions, version
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from workbench.paths import REPO_ROOT

PYPROJECT = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
LOCKS = ("requirements.txt", "requirements-test.txt")
TEST_ONLY = {"pytest", "pytest-timeout", "pingouin", "statsmodels", "simhash", "playwright"}


def norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def declared() -> dict[str, list[tuple[str, Requirement]]]:
    """Normalised distribution name → [(where: "dependencies" or the extra's name, requirement)]."""
    out: dict[str, list] = {}
    groups = [("dependencies", PYPROJECT["dependencies"])] + list(PYPROJECT["optional-dependencies"].items())
    for where, reqs in groups:
        for line in reqs:
            req = Requirement(line)
            if norm(req.name) != "workbench":  # the test extra pulls the lab and dask extras in by name
                out.setdefault(norm(req.name), []).append((where, req))
    return out


def locked(name: str) -> dict[str, Version]:
    pins = {}
    for line in (REPO_ROOT / name).read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            req = Requirement(line)
            (spec,) = req.specifier
            assert spec.operator == "==", f"{name}: {line} is not an exact pin"
            pins[norm(req.name)] = Version(spec.version)
    return pins


@cache
def third_party_imports() -> dict[str, set[str]]:
    """Top-level module → files of workbench/ importing it, from every import statement (functions included)."""
    found: dict[str, set[str]] = {}
    for path in sorted((REPO_ROOT / "workbench").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for top in {n.split(".")[0] for n in names}:
                if top not in sys.stdlib_module_names and top not in ("workbench", "__future__"):
                    found.setdefault(top, set()).add(str(path.relative_to(REPO_ROOT)))
    return found


def test_the_import_scan_sees_lazy_imports():
    found = third_party_imports()
    assert {"numpy", "torch", "av", "nltk", "cv2"} <= set(found)
    assert "workbench/engines/vllm.py" in found.get("vllm", set())  # imported inside a function only


def test_every_third_party_import_is_declared():
    dists = packages_distributions()
    names = declared()
    missing = []
    for module, files in sorted(third_party_imports().items()):
        # an optional package that is not installed here (vllm, dask_cuda) is looked up by its own name
        candidates = {norm(d) for d in dists.get(module, [module])}
        if not candidates & set(names):
            missing.append(f"{module} ({', '.join(sorted(candidates))}; {sorted(files)[0]})")
    assert not missing, f"imported by workbench/ but declared in no dependency or extra: {missing}"


def test_requested_extras_exist():
    assert {"paper", "dask", "track", "test", "vllm", "lab"} <= set(PYPROJECT["optional-dependencies"])
    assert "workbench[lab,dask]" in PYPROJECT["optional-dependencies"]["test"]


@pytest.mark.parametrize("lock", LOCKS)
def test_ranges_admit_the_locked_versions(lock):
    names = declared()
    wrong = []
    for name, pinned in locked(lock).items():
        if name not in names:
            wrong.append(f"{name}=={pinned} is locked but not declared")
        for where, req in names.get(name, []):
            if not req.specifier.contains(pinned, prereleases=True):
                wrong.append(f"{where}: {req} does not admit the locked {pinned}")
    assert not wrong


def test_test_only_packages_are_in_the_test_extra_only():
    names = declared()
    runtime = {norm(Requirement(r).name) for r in PYPROJECT["dependencies"]}
    assert not TEST_ONLY & runtime and not TEST_ONLY & set(locked("requirements.txt"))
    assert TEST_ONLY <= set(locked("requirements-test.txt"))
    assert all(where == "test" for name in TEST_ONLY for where, _ in names[name])


def test_the_installed_environment_meets_the_declared_ranges():
    bad = []
    for line in PYPROJECT["dependencies"]:
        req = Requirement(line)
        if req.marker is not None and not req.marker.evaluate():
            continue
        try:
            have = Version(version(req.name))
        except PackageNotFoundError:
            bad.append(f"{req.name} is not installed")
            continue
        if not req.specifier.contains(have, prereleases=True):
            bad.append(f"{req.name} {have} is outside {req.specifier}")
    assert not bad


def test_every_lock_file_is_read_by_the_bootstrap():
    script = (REPO_ROOT / "scripts" / "bootstrap.sh").read_text(encoding="utf-8")
    for name in (*LOCKS, "requirements-nodeps.txt"):
        assert f"-r {name}" in script


# --- TORCH=cpu|cuda ----------------------------------------------------------------------------------------------

def _torch_kind(tmp_path, torch=None, nvidia_smi=None) -> subprocess.CompletedProcess:
    """`bootstrap.sh --torch-kind` with PATH = a folder holding only the tools it needs (+ a fake nvidia-smi)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for tool in ("grep", "uname", "cat", "dirname"):
        target = bin_dir / tool
        if not target.exists():
            target.symlink_to(subprocess.run(["which", tool], capture_output=True, text=True, check=True).stdout.strip())
    fake = bin_dir / "nvidia-smi"
    fake.unlink(missing_ok=True)
    if nvidia_smi is not None:
        fake.write_text(f"#!/bin/sh\n{nvidia_smi}\n")
        fake.chmod(0o755)
    env = {"PATH": str(bin_dir), "HOME": str(tmp_path)}
    if torch is not None:
        env["TORCH"] = torch
    return subprocess.run(["/bin/bash", str(REPO_ROOT / "scripts" / "bootstrap.sh"), "--torch-kind"], env=env,
                          capture_output=True, text=True, timeout=30)


@pytest.mark.parametrize("torch, nvidia_smi, expected", [
    (None, None, "cpu"),                                                    # no nvidia-smi
    (None, "echo 'GPU 0: NVIDIA H200 (UUID: GPU-0)'", "cuda"),              # a working one that lists a GPU
    (None, "echo 'NVIDIA-SMI has failed: no driver' >&2; exit 9", "cpu"),   # present but not working
    (None, "echo 'No devices were found'", "cpu"),                          # working, no GPU
    ("cpu", "echo 'GPU 0: NVIDIA H200 (UUID: GPU-0)'", "cpu"),              # the user's choice wins
    ("cuda", None, "cuda"),
])
def test_torch_build_choice(tmp_path, torch, nvidia_smi, expected):
    proc = _torch_kind(tmp_path, torch, nvidia_smi)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == expected


def test_torch_choice_rejects_an_unknown_build(tmp_path):
    proc = _torch_kind(tmp_path, "gpu")
    assert proc.returncode != 0 and "TORCH must be cpu or cuda, not 'gpu'" in proc.stderr
