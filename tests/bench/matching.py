"""Benchmark (m): a matching day's timetable, 40 companies x 300 participants x 12 slots.

`python -m tests.bench.matching [--seed N] [--time-limit S]` builds a seeded instance (each
company chooses 15 people, each person ranks 5 companies, one table per company, at most 12
meetings per company and 4 per person), runs the greedy round-robin baseline and the CP-SAT
solver in the same process, and prints the time to a timetable, the objective of each (the
same function scores both), the solver's proven bound, and their ratios; then the aims level by
level (companies meeting one of their choices, chosen meetings, mutual meetings, idle gaps).
Every timetable is checked against the hard rules by code apart from the solver's model."""

from __future__ import annotations

import argparse
import random
import time
from collections import Counter

from service.domain.matching.solver import Instance, Pair, Placed, greedy, objective_of, solve

COMPANIES, PEOPLE, SLOTS = 40, 300, 12


def instance(seed: int) -> Instance:
    rng = random.Random(seed)
    ranks: dict[tuple[int, int], list[int | None]] = {}
    # Some people are popular with companies, as on a real day.
    weights = [1.0 + 4.0 * (rng.random() < 0.15) for _ in range(PEOPLE)]
    for c in range(COMPANIES):
        chosen: list[int] = []
        while len(chosen) < 15:
            p = rng.choices(range(PEOPLE), weights)[0]
            if p not in chosen:
                chosen.append(p)
        for r, p in enumerate(chosen, start=1):
            ranks.setdefault((c, p), [None, None])[0] = r
    for p in range(PEOPLE):
        for r, c in enumerate(rng.sample(range(COMPANIES), 5), start=1):
            ranks.setdefault((c, p), [None, None])[1] = r
    pairs = [Pair(c, p, v[0], v[1]) for (c, p), v in sorted(ranks.items())]
    return Instance(SLOTS, dict.fromkeys(range(COMPANIES), 1), list(range(PEOPLE)), pairs, 12, 4)


def check(inst: Instance, meetings: list[Placed]) -> None:
    allowed = {(p.company, p.person) for p in inst.pairs}
    assert all((m.company, m.person) in allowed for m in meetings)
    assert max(Counter((m.person, m.slot) for m in meetings).values()) == 1
    assert max(Counter((m.company, m.slot) for m in meetings).values()) <= 1
    assert max(Counter((m.company, m.person) for m in meetings).values()) == 1
    assert max(Counter(m.person for m in meetings).values()) <= inst.max_per_person
    assert max(Counter(m.company for m in meetings).values()) <= inst.max_per_company
    assert all(0 <= m.slot < inst.slots for m in meetings)


def levels(inst: Instance, meetings: list[Placed]) -> dict[str, int]:
    by_pair = {(p.company, p.person): p for p in inst.pairs}
    chosen = [m for m in meetings if by_pair[(m.company, m.person)].company_rank is not None]
    slots: dict[int, set[int]] = {}
    for m in meetings:
        slots.setdefault(m.person, set()).add(m.slot)
    gaps = sum(max(s) - min(s) + 1 - len(s) for s in slots.values())
    return {
        "companies meeting a choice": len({m.company for m in chosen}),
        "chosen meetings": len(chosen),
        "mutual meetings": sum(by_pair[(m.company, m.person)].mutual for m in meetings),
        "meetings": len(meetings),
        "idle gap slots": gaps,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=2022)
    parser.add_argument("--time-limit", type=float, default=30.0)
    args = parser.parse_args()
    inst = instance(args.seed)
    print(
        f"matching: {COMPANIES} companies x {PEOPLE} people x {SLOTS} slots, "
        f"{len(inst.pairs)} eligible pairs, time limit {args.time_limit:.0f} s"
    )
    started = time.perf_counter()
    base = greedy(inst)
    base_seconds = time.perf_counter() - started
    check(inst, base)
    solution = solve(inst, time_limit=args.time_limit)
    check(inst, solution.meetings)
    base_objective = objective_of(inst, base)
    print(f"  greedy round-robin: {base_seconds:8.3f} s  objective {base_objective:,}")
    print(
        f"  CP-SAT ({solution.status}): {solution.seconds:8.3f} s  objective "
        f"{solution.objective:,}  bound {solution.bound:,}"
    )
    print(f"  time solver / greedy: {solution.seconds / max(base_seconds, 1e-9):,.0f}x")
    print(f"  objective solver / greedy: {solution.objective / base_objective:.6f}")
    print(f"  objective solver / bound:  {solution.objective / solution.bound:.6f}")
    print(f"  greedy / bound:            {base_objective / solution.bound:.6f}")
    # The top aims dominate the sum, so the ratios sit near 1; the gaps say more (in units of
    # the lowest aim, one idle run of one person).
    print(
        f"  bound - solver: {solution.bound - solution.objective:,}   "
        f"bound - greedy: {solution.bound - base_objective:,}"
    )
    print("  weights:", solution.weights)
    ours, theirs = levels(inst, solution.meetings), levels(inst, base)
    for name in ours:
        ratio = ours[name] / theirs[name] if theirs[name] else float("nan")
        print(f"  {name:28s} solver {ours[name]:5d}  greedy {theirs[name]:5d}  ratio {ratio:.3f}")


if __name__ == "__main__":
    main()
