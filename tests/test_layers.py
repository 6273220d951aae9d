"""Rules of the layout that a test enforces (the import contracts are in .importlinter):
every query lives in a repository, only service/platform/transaction.py ends a transaction, and the
adapters (service/api/, service/web/) reach the domain through its services, never through a
repository module (not even for a type: shapes live in the area's schemas module), and never hold
a mapped ORM object: they import no domain `models` module (the service hands them view types from
the area's schemas)."""

from __future__ import annotations

import ast
import importlib
from collections.abc import Collection
from pathlib import Path

import pytest
from sqlalchemy import Table
from sqlalchemy.sql.expression import TableClause

from service.domain.all_models import Base

ROOT = Path(__file__).resolve().parent.parent
SQL_BUILDERS = {"select", "insert", "update", "delete", "text", "exists", "union", "table"}
QUERY_METHODS = {
    "execute", "scalar", "scalars", "stream", "get", "add", "add_all", "merge", "delete",
    "flush", "refresh", "fetch", "fetchrow", "fetchval",
}  # fmt: skip
TRANSACTION_METHODS = {"commit", "rollback", "begin", "begin_nested"}
SESSION_NAMES = {"db", "session", "self.db", "conn", "connection"}
# Not repositories, and why they may still touch SQL.
ALLOWED = {
    "service/platform/db.py": "the engine, the session factory and the driver statement helper",
    "service/api/health.py": "the readiness probe runs SELECT 1 on a connection of its own",
    "service/platform/transaction.py": "the one place that commits or rolls back",
    "service/platform/migrations.py": "Alembic",
    "service/devtools/demo_data.py": "the demo loader builds its ORM rows directly",
    "service/devtools/demo_indicators.py": "the demo's history, built like demo_data",
}


# Repositories that still write SQL as text() beside the ORM models, and why (issue 21 point 5:
# queries are SQLAlchemy Core on the mapped tables, so the models are the schema's one source of
# truth). A file leaves this list when it is converted; a new repository never joins it without
# a benchmark that shows text() matters.
# The booking statements (bookings/repository.py, changes_repository.py) left it when
# tests/bench/core_vs_text.py measured their Core versions against the text() ones.
TEXT_SQL_ALLOWED: dict[str, str] = {}


def _is_repository(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    return name == "repository.py" or name.endswith("_repository.py")


def _is_models(path: str) -> bool:
    # Schema definitions use text() for server defaults and partial indexes.
    return path.rsplit("/", 1)[-1] == "models.py"


def _is_repository_module(dotted: str) -> bool:
    parts = dotted.split(".")
    return (
        len(parts) >= 4
        and parts[:2] == ["service", "domain"]
        and (parts[-1] == "repository" or parts[-1].endswith("_repository"))
    )


def _is_adapter(path: str) -> bool:
    return path.startswith(("service/api/", "service/web/"))


def _modules() -> list[tuple[str, ast.Module]]:
    out = []
    for base in ("service", "workers"):
        for file in sorted((ROOT / base).rglob("*.py")):
            rel = file.relative_to(ROOT).as_posix()
            out.append((rel, ast.parse(file.read_text(encoding="utf-8"), rel)))
    return out


def violations(path: str, tree: ast.Module) -> list[str]:
    found: list[str] = []
    if path in ALLOWED:
        return found
    repository = _is_repository(path)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy"):
            for alias in node.names:
                if alias.name in SQL_BUILDERS and not repository and not _is_models(path):
                    found.append(f"{path}:{node.lineno} imports {alias.name} from sqlalchemy")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            receiver = ast.unparse(node.func.value)
            method = node.func.attr
            if receiver not in SESSION_NAMES and not receiver.endswith(".db"):
                continue
            if method in TRANSACTION_METHODS:
                found.append(f"{path}:{node.lineno} {receiver}.{method}() outside transaction.py")
            elif method in QUERY_METHODS and not repository:
                found.append(f"{path}:{node.lineno} {receiver}.{method}() outside a repository")
    return found


def _area(path: str) -> str | None:
    """service/domain/<area>/… -> <area>; None outside the domain areas."""
    parts = path.split("/")
    return parts[2] if len(parts) >= 4 and parts[:2] == ["service", "domain"] else None


def text_sql(
    path: str, tree: ast.Module, *, allowed: Collection[str] = TEXT_SQL_ALLOWED
) -> list[str]:
    """A repository's SQL written as text(): imported from sqlalchemy or reached as an attribute
    of the sqlalchemy module (sa.text, sqlalchemy.text)."""
    if not _is_repository(path) or path in allowed:
        return []
    aliases = {"sqlalchemy"}
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            aliases |= {a.asname or a.name for a in node.names if a.name == "sqlalchemy"}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy"):
            if any(alias.name == "text" for alias in node.names):
                found.append(f"{path}:{node.lineno} imports text from {node.module}")
        elif (
            isinstance(node, ast.Attribute)
            and node.attr == "text"
            and ast.unparse(node.value) in aliases
        ):
            found.append(f"{path}:{node.lineno} uses {ast.unparse(node)}")
    return found


def repository_imports(path: str, tree: ast.Module) -> list[str]:
    """An adapter's imports of a domain repository module, or a domain area's imports of another
    area's repository (an area uses another area's service), in any of the three spellings."""
    area = _area(path)
    if not _is_adapter(path) and area is None:
        return []
    found: list[str] = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            # `from service.domain.x.repository import R` and `from service.domain.x import
            # repository` alike.
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        found += [
            f"{path}:{node.lineno} imports {name}"
            for name in names
            if _is_repository_module(name) and (area is None or name.split(".")[2] != area)
        ]
    return found


def _is_models_module(dotted: str) -> bool:
    parts = dotted.split(".")
    return (
        len(parts) >= 3
        and parts[:2] == ["service", "domain"]
        and (parts[-1] == "models" or parts[-1].endswith("_models"))
    )


def models_imports(path: str, tree: ast.Module) -> list[str]:
    """An adapter's imports of a domain models module (ORM classes, or a constant beside them)."""
    if not _is_adapter(path):
        return []
    found: list[str] = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        found += [f"{path}:{node.lineno} imports {n}" for n in names if _is_models_module(n)]
    return found


def test_every_query_is_in_a_repository() -> None:
    found = [v for path, tree in _modules() for v in violations(path, tree)]
    assert found == []


def test_the_rule_catches_a_query_in_a_service() -> None:
    service = ast.parse(
        "from sqlalchemy import select\n"
        "async def f(db):\n"
        "    await db.execute(select(1))\n"
        "    await db.flush()\n"
        "    await db.rollback()\n"
    )
    assert len(violations("service/domain/x/service.py", service)) == 4
    assert len(violations("service/domain/x/repository.py", service)) == 1  # the rollback


def test_repositories_write_no_text_sql_outside_the_allow_list() -> None:
    found = [v for path, tree in _modules() for v in text_sql(path, tree)]
    assert found == []


def test_the_text_sql_allow_list_names_only_files_that_use_text() -> None:
    """A converted file leaves the list (else the list would let text() back in unseen)."""
    trees = dict(_modules())
    stale = [
        path
        for path in TEXT_SQL_ALLOWED
        if path not in trees or not text_sql(path, trees[path], allowed=())
    ]
    assert stale == []


@pytest.mark.parametrize(
    "source",
    [
        "from sqlalchemy import select, text\n",
        "import sqlalchemy as sa\nq = sa.text('SELECT 1')\n",
        "import sqlalchemy\nq = sqlalchemy.text('SELECT 1')\n",
        "from sqlalchemy.sql.expression import text\n",
    ],
)
def test_the_rule_catches_text_sql_in_a_repository(source: str) -> None:
    tree = ast.parse(source)
    assert len(text_sql("service/domain/x/repository.py", tree)) == 1
    assert len(text_sql("service/domain/x/feeds_repository.py", tree)) == 1
    # Models keep text() for server defaults and partial indexes; services build no SQL at all
    # (test_every_query_is_in_a_repository).
    assert text_sql("service/domain/x/models.py", tree) == []
    # A file on the allow list may (the list says why).
    assert (
        text_sql("service/domain/x/repository.py", tree, allowed={"service/domain/x/repository.py"})
        == []
    )


def test_tables_named_by_columns_match_the_models() -> None:
    """A repository that may not import another area's models names that table by the columns
    it uses (sqlalchemy.table); each name must be a column of the mapped table, so the models
    stay the schema's one source of truth."""
    wrong = []
    for path, _tree in _modules():
        if not (path.startswith("service/domain/") and _is_repository(path)):
            continue
        module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
        for name, value in vars(module).items():
            # A mapped Table imported from a models module is a TableClause too.
            if not isinstance(value, TableClause) or isinstance(value, Table):
                continue
            mapped = Base.metadata.tables.get(value.name)
            if mapped is None:
                wrong.append(f"{path}: {name} names no mapped table {value.name}")
                continue
            wrong += [
                f"{path}: {name}.{c.name} is no column of {value.name}"
                for c in value.c
                if c.name not in mapped.c
            ]
    assert wrong == []


def test_adapters_import_no_repository() -> None:
    found = [v for path, tree in _modules() for v in repository_imports(path, tree)]
    assert found == []


@pytest.mark.parametrize(
    "source",
    [
        "from service.domain.accounts.repository import AccountRepository\n",
        "from service.domain.events.admin_repository import EventRow\n",
        "from service.domain.bookings import repository\n",
        "import service.domain.calendars.repository\n",
        "def f():\n    from service.domain.calendars.repository import FeedWindow\n",
    ],
)
def test_the_rule_catches_an_adapter_importing_a_repository(source: str) -> None:
    tree = ast.parse(source)
    assert len(repository_imports("service/api/x.py", tree)) == 1
    assert len(repository_imports("service/web/x.py", tree)) == 1
    # The workers may build repositories (thin tasks over the domain; the areas' own services
    # too, tested below).
    assert repository_imports("workers/x.py", tree) == []


def test_adapters_import_no_models() -> None:
    found = [v for path, tree in _modules() for v in models_imports(path, tree)]
    assert found == []


@pytest.mark.parametrize(
    "source",
    [
        "from service.domain.indicators.models import DeskRecord\n",
        "from service.domain.accounts import models\n",
        "import service.domain.bookings.models\n",
        "from service.domain.all_models import Base\n",
        "def f():\n    from service.domain.accounts.models import ROLES\n",
    ],
)
def test_the_rule_catches_an_adapter_importing_models(source: str) -> None:
    tree = ast.parse(source)
    assert len(models_imports("service/api/x.py", tree)) == 1
    assert len(models_imports("service/web/x.py", tree)) == 1
    assert models_imports("service/domain/indicators/service.py", tree) == []
    ok = ast.parse(
        "from service.domain.indicators.schemas import DefinitionView, RecordView\n"
        "from service.domain.accounts.schemas import ROLES\n"
    )
    assert models_imports("service/web/x.py", ok) == []


def test_the_rule_catches_an_area_importing_another_areas_repository() -> None:
    tree = ast.parse(
        "from service.domain.bookings.repository import BookingRepository\n"
        "from service.domain.rosters import repository\n"
    )
    assert len(repository_imports("service/domain/events/admin_sessions.py", tree)) == 2
    # Its own repository, and other areas' services, are what an area is for.
    own = ast.parse(
        "from service.domain.events.admin_repository import EventAdminRepository\n"
        "from service.domain.bookings import session_seats\n"
    )
    assert repository_imports("service/domain/events/admin_sessions.py", own) == []


def test_the_rule_lets_an_adapter_import_services_and_schemas() -> None:
    tree = ast.parse(
        "from service.domain.accounts import service as accounts\n"
        "from service.domain.calendars.schemas import FeedWindow\n"
        "from service.domain.events import admin_events, repository_helpers\n"
        "from service.domain.repository_notes import x\n"
    )
    assert repository_imports("service/web/x.py", tree) == []
