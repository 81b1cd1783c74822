"""Architecture rules of DESIGN.md, enforced on every run (import-linter contracts in pyproject)."""

import ast
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_import_contracts_hold() -> None:
    result = subprocess.run(
        [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def _imports(path: pathlib.Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_no_service_but_the_connector_imports_ccxt_even_lazily() -> None:
    # import-linter sees the package graph; this second check also catches files outside any
    # package (scripts, __main__ helpers) and function-level imports.
    scanned = [
        p
        for p in [*ROOT.glob("services/*/bf_*/**/*.py"), *ROOT.glob("shared/**/*.py")]
        if p.relative_to(ROOT).parts[1] not in {"connector", "exchange-sim"}
    ]
    assert len(scanned) > 10, "the scan must see the services' sources"
    offenders = [str(p.relative_to(ROOT)) for p in scanned if "ccxt" in _imports(p)]
    assert offenders == []
