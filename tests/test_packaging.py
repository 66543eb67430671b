"""Every third-party module the server's code imports comes from a runtime dependency, not from the dev extras the
test environment also installs: `./scripts/serve.sh` installs the package without them."""

from __future__ import annotations

import ast
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent


def imported_modules() -> set[str]:
    """Top-level names of every module imported anywhere under src/ (conditional imports included)."""
    names: set[str] = set()
    for path in (ROOT / "src").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module.split(".")[0])
    return names


def normalized(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def test_every_third_party_import_is_a_runtime_dependency() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {normalized(Requirement(text).name) for text in project["dependencies"]}
    distributions = packages_distributions()
    third_party = imported_modules() - set(sys.stdlib_module_names) - {"dockyard"}
    assert third_party, "no imports found"
    undeclared = {}
    for module in sorted(third_party):
        providers = {normalized(name) for name in distributions.get(module, [])}
        assert providers, f"{module} is imported but no installed distribution provides it"
        if not providers & declared:
            undeclared[module] = sorted(providers)
    assert undeclared == {}, "imported, but only installed by the dev extras or by another package"
