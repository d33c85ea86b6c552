"""What `pip install ghoststream` puts into a stranger's environment: only names that are ours.

The wheel is built from this checkout and installed into a scratch directory; a fresh
interpreter then imports the library from there, never from the repo.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OURS = {"ghoststream"}
REPO_ONLY = {"service", "mock_llm", "benchmarks", "loadtests", "tests", "examples"}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built from a copy of the sources, so no stale `build/` folder in the checkout leaks in."""
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for folder in ("ghoststream", "mock_llm", "service", "benchmarks", "loadtests"):
        shutil.copytree(
            ROOT / folder, source / folder, ignore=shutil.ignore_patterns("__pycache__")
        )
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(source)],
        check=True,
    )
    [built] = out.glob("ghoststream-*.whl")
    return built


def test_the_wheel_installs_only_our_top_level_names(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert top == OURS, f"the wheel installs {sorted(top - OURS)} beside ghoststream"


def test_the_wheel_ships_every_package_of_ours(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    on_disk = {p.parent.relative_to(ROOT) for p in (ROOT / "ghoststream").rglob("__init__.py")}
    expected = {f"{d.as_posix()}/__init__.py" for d in on_disk} | {
        "ghoststream/mock_llm/__init__.py",
        "ghoststream/mock_llm/py.typed",
        "ghoststream/py.typed",
    }
    assert expected <= names, sorted(expected - names)


def _type_checking_only(node: ast.AST, tree: ast.Module) -> bool:
    """Imports under `if TYPE_CHECKING:` name the checkout's layout for mypy; never run."""
    for block in ast.walk(tree):
        if isinstance(block, ast.If) and ast.unparse(block.test) == "TYPE_CHECKING":
            if any(node is inner for stmt in block.body for inner in ast.walk(stmt)):
                return True
    return False


def test_shipped_code_imports_nothing_that_only_the_repo_has(wheel: Path) -> None:
    """`from mock_llm.x import y` works in the repo and fails installed; relative imports do."""
    offenders = []
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            if not name.endswith(".py"):
                continue
            tree = ast.parse(archive.read(name))
            for node in ast.walk(tree):
                if _type_checking_only(node, tree):
                    continue
                modules = []
                if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    modules = [node.module]
                elif isinstance(node, ast.Import):
                    modules = [alias.name for alias in node.names]
                offenders += [
                    f"{name}:{node.lineno} {m}" for m in modules if m.split(".")[0] in REPO_ONLY
                ]
    assert not offenders, offenders


def test_the_installed_library_imports_from_the_wheel(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "-q",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
    )
    check = (
        "import importlib.util, sys\n"
        "import ghoststream.mock_llm.app, ghoststream.pytest_plugin, ghoststream.harness.client\n"
        f"assert ghoststream.__file__.startswith({str(target)!r}), ghoststream.__file__\n"
        "assert importlib.util.find_spec('mock_llm') is None\n"
        "assert importlib.util.find_spec('service') is None\n"
    )
    # Run outside the repo, so the checkout's own folders are not on sys.path.
    subprocess.run(
        [sys.executable, "-c", check],
        check=True,
        cwd=tmp_path,
        env={"PYTHONPATH": str(target), "PATH": ""},
    )
