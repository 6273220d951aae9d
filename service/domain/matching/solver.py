"""The timetable as a CP-SAT model (OR-Tools), and the greedy round-robin it is measured against.

Pure: no database. One boolean per (eligible pair, slot). Hard rules: a pair meets at most
once; a person is in one meeting per slot; a company holds at most as many meetings per slot as
it has tables (tables are numbered afterwards, see `assign_tables`); nobody over their maximum;
only pairs that someone chose or staff added; meetings staff pinned stay where they are.

The aims, in the order the issue gives them, are one weighted sum whose weights are computed
from the instance so that each level outweighs everything below it put together (a strict
lexicographic order, not a tuning):
  A. companies that meet at least one of the people they chose (no company left with none
     while another has extras);
  B. then as many chosen people per company as possible, fairly: a company's k-th chosen
     meeting is worth (K + 1 - k), so a first or second meeting elsewhere beats a tenth here;
  K. then meetings already sent to people stay as they were (a rebuild after late changes);
  M. then mutual choices before one-sided ones and higher ranks before lower (per meeting);
  G. then fewer idle gaps: each run of consecutive meetings of a person after the first costs 1.
Per-meeting values are scaled by GAP_SCALE so that trading one meeting for a better one never
loses to the gaps it moves (one swap changes at most two runs)."""

from __future__ import annotations

import itertools
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from ortools.sat.python import cp_model

RANK_POINTS = 10  # rank 1 is worth 10 points, rank 10 and below 1
MUTUAL_BONUS = 2 * RANK_POINTS + 1  # a mutual pair beats any one-sided pair, whatever the ranks
GAP_SCALE = 3


@dataclass(frozen=True, slots=True)
class Pair:
    company: int
    person: int
    company_rank: int | None  # the company's rank of this person (None: not chosen)
    person_rank: int | None  # the person's rank of this company (None: not chosen)
    staff_added: bool = False

    @property
    def mutual(self) -> bool:
        return self.company_rank is not None and self.person_rank is not None

    @property
    def value(self) -> int:
        """Level M: mutual first, then the ranks."""
        points = _rank_points(self.company_rank) + _rank_points(self.person_rank)
        return points + (MUTUAL_BONUS if self.mutual else 0)


def _rank_points(rank: int | None) -> int:
    return 0 if rank is None else max(1, RANK_POINTS + 1 - rank)


@dataclass(frozen=True, slots=True)
class Placed:
    company: int
    person: int
    slot: int


@dataclass(frozen=True)
class Instance:
    slots: int
    tables: dict[int, int]  # company -> how many tables / terminals
    people: Sequence[int]
    pairs: Sequence[Pair]
    max_per_company: int
    max_per_person: int
    pinned: Sequence[Placed] = ()  # hard: staff put these here
    kept: Sequence[Placed] = ()  # soft: already sent to people


@dataclass
class Solution:
    meetings: list[Placed]
    status: str
    objective: int
    bound: int
    seconds: float
    weights: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Weights:
    a: int
    b: int
    k: int
    caps: dict[int, int]  # company -> K, the most chosen meetings it can have

    def as_dict(self) -> dict[str, int]:
        return {"A": self.a, "B": self.b, "K": self.k, "M": GAP_SCALE, "G": 1}


def _chosen_cap(inst: Instance, company: int, chosen: int) -> int:
    return min(chosen, inst.max_per_company, inst.tables.get(company, 0) * inst.slots)


def weights(inst: Instance) -> Weights:
    chosen: dict[int, int] = defaultdict(int)
    for p in inst.pairs:
        if p.company_rank is not None:
            chosen[p.company] += 1
    caps = {c: _chosen_cap(inst, c, n) for c, n in chosen.items()}
    lower = GAP_SCALE * sum(p.value for p in inst.pairs) + len(inst.people) * inst.slots
    k = lower + 1
    kept_total = k * len(inst.kept)
    b = kept_total + lower + 1
    b_total = b * sum(cap * (cap + 1) // 2 for cap in caps.values())
    a = b_total + kept_total + lower + 1
    return Weights(a=a, b=b, k=k, caps=caps)


def objective_of(inst: Instance, meetings: Iterable[Placed]) -> int:
    """The objective of any timetable (the solver's, the greedy's), computed afresh."""
    w = weights(inst)
    by_pair = {(p.company, p.person): p for p in inst.pairs}
    kept = set(inst.kept)
    chosen_met: dict[int, int] = defaultdict(int)
    slots_of: dict[int, set[int]] = defaultdict(set)
    total = 0
    for m in meetings:
        pair = by_pair[(m.company, m.person)]
        total += GAP_SCALE * pair.value
        if m in kept:
            total += w.k
        if pair.company_rank is not None:
            chosen_met[m.company] += 1
        slots_of[m.person].add(m.slot)
    for company, n in chosen_met.items():
        cap = w.caps.get(company, 0)
        if n > 0:
            total += w.a
        total += w.b * sum(cap + 1 - k for k in range(1, min(n, cap) + 1))
    for taken in slots_of.values():
        total -= sum(1 for s in taken if s - 1 not in taken)
    return total


def solve(inst: Instance, *, time_limit: float = 20.0, workers: int = 2) -> Solution:
    """Two models in turn. 1: which pairs meet (levels A, B, K and M over pairs, with the
    degrees as the only constraints). 2: when (one slot per chosen pair; levels K and G).
    Splitting loses nothing on A, B and M: once every person has at most S meetings and every
    table at most S, the meetings can always be put into S slots (the bipartite graph of tables
    and people is S-edge-colourable, König's theorem). Pinned meetings can break that; then the
    joint model over pairs and slots is solved instead."""
    started = time.perf_counter()
    w = weights(inst)
    hint = greedy(inst)
    chosen, status1, bound = _choose_pairs(inst, w, hint, time_limit * 0.5, workers)
    if chosen is None:
        return Solution([], status1, 0, 0, time.perf_counter() - started, w.as_dict())
    left = max(1.0, time_limit - (time.perf_counter() - started))
    meetings, status2 = _place_in_slots(inst, w, chosen, left, workers)
    if meetings is None:
        meetings, status2, bound = _solve_joint(inst, w, hint, left, workers)
    seconds = time.perf_counter() - started
    status = "OPTIMAL" if status1 == status2 == "OPTIMAL" else "FEASIBLE"
    if meetings is None:
        return Solution([], status2, 0, 0, seconds, w.as_dict())
    return Solution(meetings, status, objective_of(inst, meetings), bound, seconds, w.as_dict())


def _pair_terms(
    inst: Instance,
    w: Weights,
    var_of: Mapping[tuple[int, int], cp_model.LinearExprT],
    model: cp_model.CpModel,
) -> list[tuple[cp_model.LinearExprT, int]]:
    """Levels A, B (per company) and M (per pair) over 'pair meets' expressions."""
    terms: list[tuple[cp_model.LinearExprT, int]] = []
    by_company: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for pair in inst.pairs:
        key = (pair.company, pair.person)
        terms.append((var_of[key], GAP_SCALE * pair.value))
        if pair.company_rank is not None:
            by_company[pair.company].append(key)
    for company, keys in by_company.items():
        cap = w.caps.get(company, 0)
        if cap == 0:
            continue
        reached = [model.new_bool_var(f"y{company}_{k}") for k in range(1, cap + 1)]
        model.add(sum(reached) <= sum(var_of[k] for k in keys))
        for earlier, later in itertools.pairwise(reached):
            model.add_implication(later, earlier)
        terms.append((reached[0], w.a))
        for k, y in enumerate(reached, start=1):
            terms.append((y, w.b * (cap + 1 - k)))
    return terms


def _choose_pairs(
    inst: Instance, w: Weights, hint: list[Placed], time_limit: float, workers: int
) -> tuple[list[tuple[int, int]] | None, str, int]:
    model = cp_model.CpModel()
    z = {(p.company, p.person): model.new_bool_var(f"z{i}") for i, p in enumerate(inst.pairs)}
    for pin in inst.pinned:
        model.add(z[(pin.company, pin.person)] == 1)
    person_keys: dict[int, list[tuple[int, int]]] = defaultdict(list)
    company_keys: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for key in z:
        company_keys[key[0]].append(key)
        person_keys[key[1]].append(key)
    for keys in person_keys.values():
        model.add(sum(z[k] for k in keys) <= min(inst.max_per_person, inst.slots))
    for company, keys in company_keys.items():
        cap = min(inst.max_per_company, inst.tables.get(company, 0) * inst.slots)
        model.add(sum(z[k] for k in keys) <= cap)
    terms = _pair_terms(inst, w, dict(z), model)
    for placed in inst.kept:
        key = (placed.company, placed.person)
        if key in z:
            terms.append((z[key], w.k))
    model.maximize(sum(c * v for v, c in terms))
    hinted = {(m.company, m.person) for m in hint}
    for key, var in z.items():
        model.add_hint(var, key in hinted)
    solver = _solver(time_limit, workers)
    status = solver.solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None, solver.status_name(status), 0
    chosen = [k for k, v in z.items() if solver.boolean_value(v)]
    return chosen, solver.status_name(status), round(solver.best_objective_bound)


def _slot_model(
    inst: Instance, keys: Sequence[tuple[int, int]], model: cp_model.CpModel
) -> tuple[dict[tuple[int, int], list[cp_model.IntVar]], list[tuple[cp_model.LinearExprT, int]]]:
    """x[pair][slot] for the given pairs, with the hard rules per slot and the gap runs (G)."""
    x = {
        k: [model.new_bool_var(f"x{i}_{s}") for s in range(inst.slots)] for i, k in enumerate(keys)
    }
    pinned = {(p.company, p.person): p.slot for p in inst.pinned}
    person_keys: dict[int, list[tuple[int, int]]] = defaultdict(list)
    company_keys: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for key, row in x.items():
        model.add_at_most_one(row)
        company_keys[key[0]].append(key)
        person_keys[key[1]].append(key)
        fixed = pinned.get(key)
        if fixed is not None and fixed < inst.slots:
            model.add(row[fixed] == 1)
    terms: list[tuple[cp_model.LinearExprT, int]] = []
    for person, pkeys in person_keys.items():
        model.add(sum(v for k in pkeys for v in x[k]) <= inst.max_per_person)
        busy_prev: cp_model.IntVar | None = None
        for s in range(inst.slots):
            busy = model.new_bool_var(f"busy{person}_{s}")
            model.add(sum(x[k][s] for k in pkeys) == busy)
            start = model.new_bool_var(f"run{person}_{s}")
            if busy_prev is None:
                model.add(start >= busy)
            else:
                model.add(start >= busy - busy_prev)
            terms.append((start, -1))
            busy_prev = busy
    for company, ckeys in company_keys.items():
        tables = inst.tables.get(company, 0)
        for s in range(inst.slots):
            model.add(sum(x[k][s] for k in ckeys) <= tables)
        model.add(sum(v for k in ckeys for v in x[k]) <= inst.max_per_company)
    return x, terms


def _kept_terms(
    inst: Instance, w: Weights, x: dict[tuple[int, int], list[cp_model.IntVar]]
) -> list[tuple[cp_model.LinearExprT, int]]:
    return [
        (x[(p.company, p.person)][p.slot], w.k)
        for p in inst.kept
        if (p.company, p.person) in x and p.slot < inst.slots
    ]


def _place_in_slots(
    inst: Instance, w: Weights, chosen: list[tuple[int, int]], time_limit: float, workers: int
) -> tuple[list[Placed] | None, str]:
    model = cp_model.CpModel()
    x, terms = _slot_model(inst, chosen, model)
    for row in x.values():
        model.add_exactly_one(row)
    terms += _kept_terms(inst, w, x)
    model.maximize(sum(c * v for v, c in terms))
    solver = _solver(time_limit, workers)
    status = solver.solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None, solver.status_name(status)
    return _read(x, solver), solver.status_name(status)


def _solve_joint(
    inst: Instance, w: Weights, hint: list[Placed], time_limit: float, workers: int
) -> tuple[list[Placed] | None, str, int]:
    model = cp_model.CpModel()
    keys = [(p.company, p.person) for p in inst.pairs]
    x, terms = _slot_model(inst, keys, model)
    pinned = {(p.company, p.person) for p in inst.pinned}
    for key in pinned:
        model.add(sum(x[key]) == 1)
    meets: dict[tuple[int, int], cp_model.LinearExprT] = {k: sum(row) for k, row in x.items()}
    terms += _pair_terms(inst, w, meets, model)
    terms += _kept_terms(inst, w, x)
    model.maximize(sum(c * v for v, c in terms))
    hinted = {(m.company, m.person, m.slot) for m in hint}
    for (company, person), row in x.items():
        for s, v in enumerate(row):
            model.add_hint(v, (company, person, s) in hinted)
    solver = _solver(time_limit, workers)
    status = solver.solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None, solver.status_name(status), 0
    return _read(x, solver), solver.status_name(status), round(solver.best_objective_bound)


def _solver(time_limit: float, workers: int) -> cp_model.CpSolver:
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_limit
    solver.parameters.num_workers = workers
    return solver


def _read(
    x: dict[tuple[int, int], list[cp_model.IntVar]], solver: cp_model.CpSolver
) -> list[Placed]:
    return [
        Placed(company, person, s)
        for (company, person), row in x.items()
        for s, v in enumerate(row)
        if solver.boolean_value(v)
    ]


def greedy(inst: Instance) -> list[Placed]:
    """The baseline: companies take turns; each places its best remaining candidate (its own
    choices by rank, then people who chose it) in the earliest slot both are free."""
    candidates: dict[int, list[Pair]] = defaultdict(list)
    for pair in inst.pairs:
        candidates[pair.company].append(pair)
    for pairs in candidates.values():
        pairs.sort(
            key=lambda p: (
                p.company_rank is None,
                p.company_rank or 0,
                p.person_rank is None,
                p.person_rank or 0,
            )
        )
    company_load: dict[int, int] = defaultdict(int)
    person_load: dict[int, int] = defaultdict(int)
    in_slot: dict[tuple[int, int], int] = defaultdict(int)  # (company, slot) -> meetings
    person_busy: set[tuple[int, int]] = set()
    placed: list[Placed] = []
    for pin in inst.pinned:
        placed.append(pin)
        company_load[pin.company] += 1
        person_load[pin.person] += 1
        in_slot[(pin.company, pin.slot)] += 1
        person_busy.add((pin.person, pin.slot))
    done = {(p.company, p.person) for p in placed}
    order = sorted(candidates)
    progress = True
    while progress:
        progress = False
        for company in order:
            if company_load[company] >= inst.max_per_company:
                continue
            for pair in candidates[company]:
                if (pair.company, pair.person) in done:
                    continue
                if person_load[pair.person] >= inst.max_per_person:
                    continue
                slot = next(
                    (
                        s
                        for s in range(inst.slots)
                        if in_slot[(company, s)] < inst.tables.get(company, 0)
                        and (pair.person, s) not in person_busy
                    ),
                    None,
                )
                if slot is None:
                    continue
                placed.append(Placed(company, pair.person, slot))
                done.add((company, pair.person))
                company_load[company] += 1
                person_load[pair.person] += 1
                in_slot[(company, slot)] += 1
                person_busy.add((pair.person, slot))
                progress = True
                break
    return placed


def assign_tables(
    meetings: Sequence[Placed],
    tables: dict[int, list[int]],
    preferred: dict[tuple[int, int], int] | None = None,
) -> dict[Placed, int]:
    """A table (id) for each meeting: meetings that had a table keep it when it is free."""
    preferred = preferred or {}
    out: dict[Placed, int] = {}
    taken: set[tuple[int, int]] = set()  # (table, slot)
    ordered = sorted(meetings, key=lambda m: (m.company, m.person) not in preferred)
    for m in ordered:
        want = preferred.get((m.company, m.person))
        options = tables[m.company]
        if want in options and (want, m.slot) not in taken:
            table = want
        else:
            table = next(t for t in options if (t, m.slot) not in taken)
        taken.add((table, m.slot))
        out[m] = table
    return out
