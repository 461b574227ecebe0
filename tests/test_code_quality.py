"""House rules that keep the architecture honest, checked on every CI run."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHALICELIB = ROOT / "chalicelib"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            prefix = "." * node.level
            names.add(prefix + (node.module or ""))
    return names


def _files(folder: str) -> list[Path]:
    return sorted((CHALICELIB / folder).rglob("*.py"))


def test_ruff_is_clean() -> None:
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is installed by requirements-dev.txt")
    result = subprocess.run([ruff, "check", "."], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", _files("domain"), ids=lambda p: p.name)
def test_domain_imports_nothing_of_the_project_but_itself(path: Path) -> None:
    for name in _imports(path):
        assert not name.startswith(".."), f"{path.name} imports {name}"
        assert not name.startswith(("chalice", "boto3", "botocore")), f"{path.name}: {name}"


@pytest.mark.parametrize("path", _files("services"), ids=lambda p: p.name)
def test_services_use_ports_and_domain_only(path: Path) -> None:
    for name in _imports(path):
        assert not name.startswith(("chalice", "boto3", "..adapters", "..api")), name
        assert "wiring" not in name, name


def test_only_api_events_and_app_import_chalice() -> None:
    for path in CHALICELIB.rglob("*.py"):
        if path.parent.name == "api":
            continue
        for name in _imports(path):
            assert not name.startswith("chalice") or name.startswith("chalicelib"), (
                f"{path.relative_to(ROOT)} imports {name}"
            )
