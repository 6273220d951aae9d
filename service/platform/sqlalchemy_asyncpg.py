"""The one place that relies on internals of SQLAlchemy's asyncpg adapter
(sqlalchemy.dialects.postgresql.asyncpg.AsyncAdapt_asyncpg_connection).

The booking's driver lane (service.platform.db) runs its statements on the asyncpg connection itself
(`driver_connection`, public) inside the transaction SQLAlchemy's adapter keeps for that
connection, so that SQLAlchemy work later in the same request joins that transaction without a
SAVEPOINT, and the page booking's final step stays at four round trips
(tests/test_booking_round_trips.py). SQLAlchemy has no public way to ask its adapter whether it
has begun, to begin, or to end without going through a Connection (whose bookkeeping is what
the lane saves, make bench): these three functions do it with the adapter's private
`_transaction`, `_execute_mutex`, `_start_transaction` and `_call_and_discard`, and nothing
else in the code may touch them (tests/test_private_access.py).
tests/test_sqlalchemy_asyncpg.py fails when an upgrade of SQLAlchemy changes any of them.
"""

from __future__ import annotations

from typing import Any

# Every private name used below, for the upgrade test to check on the installed SQLAlchemy.
RELIES_ON = ("_transaction", "_execute_mutex", "_start_transaction", "_call_and_discard")


def has_begun(adapted: Any) -> bool:
    """Whether the adapter has a transaction open on its connection."""
    return adapted._transaction is not None


async def begin(adapted: Any) -> bool:
    """Begins the adapter's transaction as it does itself before its first statement; True if
    it began just now, False if one was already open."""
    async with adapted._execute_mutex:
        if adapted._transaction is not None:
            return False
        await adapted._start_transaction()
        return True


async def end(adapted: Any, *, commit: bool) -> None:
    """Commits or rolls back the adapter's transaction, if one is open. The adapter's own way:
    its transaction is over whether or not this succeeds."""
    transaction = adapted._transaction
    if transaction is not None:
        await adapted._call_and_discard(transaction.commit if commit else transaction.rollback)
