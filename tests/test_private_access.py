"""No code in service/ or workers/ touches a private attribute of another library's object
(`x._name`, or getattr/setattr/hasattr/delattr with such a name), outside the one adapter
module per dependency that must, which names what it relies on and has its own upgrade test.
A private attribute changes on a minor upgrade without notice; the adapter is where to look.

Reading `self._x`, `cls._x` or `super()._x` is the object's own business, and `X._y` where X
was imported from service/ or workers/ is ours. Underscored names that libraries document as
public (SQLAlchemy's Row._mapping and friends, namedtuple's _asdict) are allowed by name."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OURS = ("service", "workers")

# The adapters: module -> the private names it may use on another library's objects.
ADAPTERS = {
    # SQLAlchemy's asyncpg adapter (tests/test_sqlalchemy_asyncpg.py guards an upgrade).
    "service/platform/sqlalchemy_asyncpg.py": {
        "_transaction",
        "_execute_mutex",
        "_start_transaction",
        "_call_and_discard",
    },
}
# Public API despite the underscore, as their libraries document it.
DOCUMENTED_PUBLIC = {
    "_mapping",  # sqlalchemy Row
    "_asdict",  # sqlalchemy Row, namedtuple
    "_fields",  # sqlalchemy Row, namedtuple
    "_t",  # sqlalchemy Row
    "_tuple",  # sqlalchemy Row
    "_replace",  # namedtuple
    "_make",  # namedtuple
}
ATTRIBUTE_FUNCTIONS = {"getattr", "setattr", "hasattr", "delattr"}


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _our_names(tree: ast.Module) -> set[str]:
    """Names this module binds by importing from our own packages (modules, classes)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in OURS:
                    names.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] in OURS:
                names.update(alias.asname or alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level > 0:
            names.update(alias.asname or alias.name for alias in node.names)
    return names


def _own_receiver(value: ast.expr, ours: set[str]) -> bool:
    if isinstance(value, ast.Name):
        return value.id in {"self", "cls"} or value.id in ours
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Name):
        return value.func.id == "super"
    return False


def violations(path: str, source: str) -> list[str]:
    tree = ast.parse(source, path)
    ours = _our_names(tree)
    allowed = ADAPTERS.get(path, set()) | DOCUMENTED_PUBLIC
    found = []
    for node in ast.walk(tree):
        name: str | None = None
        if isinstance(node, ast.Attribute) and not _own_receiver(node.value, ours):
            name = node.attr
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ATTRIBUTE_FUNCTIONS
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and isinstance(node.args[1].value, str)
            and not _own_receiver(node.args[0], ours)
        ):
            name = node.args[1].value
        if name is not None and _private(name) and name not in allowed:
            found.append(f"{path}:{node.lineno}: {ast.unparse(node)}")
    return found


def _sources() -> list[tuple[str, str]]:
    return [
        (file.relative_to(ROOT).as_posix(), file.read_text(encoding="utf-8"))
        for base in OURS
        for file in sorted((ROOT / base).rglob("*.py"))
    ]


def test_no_private_attribute_of_another_library_outside_its_adapter() -> None:
    sources = _sources()
    assert len(sources) > 50  # the walk saw the code, not an empty folder
    found = [v for path, source in sources for v in violations(path, source)]
    assert not found, (
        "private attributes of other libraries (use a public API or its adapter):\n"
        + "\n".join(found)
    )


def test_every_adapter_exists_and_uses_what_it_declares() -> None:
    sources = dict(_sources())
    for path, names in ADAPTERS.items():
        assert path in sources, f"{path} is gone: update ADAPTERS"
        for name in names:
            assert f"._{name.lstrip('_')}" in sources[path], f"{path} no longer uses {name}"


@pytest.mark.parametrize(
    ("source", "caught"),
    [
        # Planted violations: each is found.
        ("def f(conn):\n    return conn._connection\n", 1),
        ("def f(worker):\n    worker._pool = None\n", 1),
        ("import uvicorn\nuvicorn.protocols._x = 1\n", 1),
        ("def f(a):\n    return getattr(a, '_transaction', None)\n", 1),
        ("def f(a):\n    setattr(a, '_pool', None)\n", 1),
        ("def f(a):\n    return a.b._c.d\n", 1),
        ("async def f(s):\n    return (await s.connection())._dbapi\n", 1),
        ("import service.platform.db as d\ndef f(x):\n    return x._mutex, d._ok\n", 1),
        # Not violations: the object's own, ours, dunders, documented public names.
        ("class A:\n    def f(self):\n        return self._x, type(self).__name__\n", 0),
        ("class A:\n    @classmethod\n    def f(cls):\n        return cls._x\n", 0),
        ("class A(B):\n    def f(self):\n        return super()._x\n", 0),
        ("from service import db\ndef f():\n    return db._LINES\n", 0),
        ("def f(row):\n    return row._mapping, row._asdict()\n", 0),
        ("def f(o):\n    return o.__class__, getattr(o, 'name')\n", 0),
    ],
)
def test_the_walk_catches_planted_violations(source: str, caught: int) -> None:
    assert len(violations("service/planted.py", source)) == caught


def test_an_adapter_may_use_only_what_it_declares() -> None:
    path = "service/platform/sqlalchemy_asyncpg.py"
    assert violations(path, "def f(a):\n    return a._transaction\n") == []
    assert len(violations(path, "def f(a):\n    return a._protocol\n")) == 1
