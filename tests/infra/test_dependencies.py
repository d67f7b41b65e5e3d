"""The program's dependencies, where the Python language host reads them: infra/requirements.txt, the program
directory's (the host runs `pip install -r requirements.txt` in the program directory, `main: infra/`). Every
third-party module the program imports must come from a distribution pinned there; the project's own
requirements.txt includes it, so a developer's venv has the same."""

from __future__ import annotations

import ast
import sys
from importlib.metadata import packages_distributions

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.support import REPO

PROGRAM = REPO / "infra"


def imported_modules() -> dict[str, set[str]]:
    """Top-level module -> the infra/ files importing it, for every absolute import in infra/**/*.py."""
    found: dict[str, set[str]] = {}
    for path in sorted(PROGRAM.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                     else [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module
                     else [])
            for name in names:
                found.setdefault(name.split(".")[0], set()).add(str(path.relative_to(REPO)))
    return found


def pinned(path) -> dict[str, str]:
    """{canonical distribution name: version} of a requirements file's `name==version` lines."""
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            requirement = Requirement(line)
            (spec,) = requirement.specifier
            assert spec.operator == "==", f"{path.name}: {line} is not pinned to one version"
            pins[canonicalize_name(requirement.name)] = spec.version
    return pins


def test_every_third_party_module_the_program_imports_is_pinned_in_infra_requirements():
    pins = pinned(PROGRAM / "requirements.txt")
    distributions = packages_distributions()
    third_party = {module: files for module, files in imported_modules().items()
                   if module not in sys.stdlib_module_names and module not in ("infra", "__future__")}
    assert {"pulumi", "pulumi_kubernetes", "pulumiverse_heroku"} <= third_party.keys()
    for module, files in sorted(third_party.items()):
        provided_by = {canonicalize_name(d) for d in distributions.get(module, [])}
        assert provided_by, f"{module} (imported by {', '.join(sorted(files))}) is not installed"
        assert provided_by & pins.keys(), (
            f"{module} (imported by {', '.join(sorted(files))}) comes from {', '.join(sorted(provided_by))}, which "
            "infra/requirements.txt does not pin: the Pulumi host would not install it")


def test_infra_requirements_pin_only_what_the_program_imports():
    needed = {canonicalize_name(d) for module in imported_modules() for d in packages_distributions().get(module, [])}
    assert set(pinned(PROGRAM / "requirements.txt")) <= needed


def test_the_projects_requirements_include_the_programs():
    lines = [line.strip() for line in (REPO / "requirements.txt").read_text().splitlines()]
    assert "-r infra/requirements.txt" in lines
    # and do not pin any of its distributions a second time, possibly at another version
    assert not set(pinned(REPO / "requirements.txt")) & set(pinned(PROGRAM / "requirements.txt"))


def test_the_installed_versions_are_the_pinned_ones():
    from importlib.metadata import version

    for name, pin in pinned(PROGRAM / "requirements.txt").items():
        assert version(name) == pin, f"{name} {version(name)} is installed, infra/requirements.txt pins {pin}"
