"""Why a sourcing model is infeasible: a minimal set of named rules (docs/sourcing-model.md §6).

The model is rebuilt with one enforcement literal per named constraint group (core process,
data location, certification, SLA, minimum value, capacity, caps, system policies, forced
options…), without objective, on one worker with presolve off (an objective or presolve makes
CP-SAT return every assumption, google/or-tools#5141). CP-SAT's
`sufficient_assumptions_for_infeasibility` gives a first core; a deletion filter shrinks it to
a minimal set (removing any one rule makes the rest consistent), which is re-checked once more.

Missing offers ("A made no offer for P1") are weak rules: they are used only when the other
rules are consistent on their own, so that an explanation names why a process cannot leave
("P1 is core") rather than that nobody offered for it.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from optimize.instance import Instance
from optimize.model import Restrictions, _Model, build_model


@dataclass(frozen=True)
class Explanation:
    """A minimal set of rules that cannot all hold together.

    Attributes:
        lines: The rules in business words, one per line.
        constraints: Their group names (`core:P1`, `inhouse_fte_cap`, `location:P2:A`, …).
    """

    lines: tuple[str, ...]
    constraints: tuple[str, ...]

    def text(self) -> str:
        """The explanation as printed and written to `infeasibility.txt`."""
        head = "The sourcing model is infeasible: these rules cannot all hold together:"
        return "\n".join([head, *(f"  - {line}" for line in self.lines)]) + "\n"


class FeasibleError(ValueError):
    """`explain_infeasibility` was asked about a feasible model."""


def _check(built: _Model, names: Iterable[str], time_limit_s: float) -> tuple[int, list[str]]:
    """Solve under the assumptions `names`; return the status and the core (group names)."""
    from ortools.sat.python import cp_model  # noqa: PLC0415 - imported on first use

    names = list(names)
    m = built.m
    m.clear_assumptions()
    m.add_assumptions([built.literals[n] for n in names])
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.cp_model_presolve = False
    solver.parameters.max_time_in_seconds = time_limit_s
    status = solver.solve(m)
    if status != cp_model.INFEASIBLE:
        return status, []
    by_index = {built.literals[n].index: n for n in names}
    core = [by_index[i] for i in solver.sufficient_assumptions_for_infeasibility()]
    return status, core


def explain_infeasibility(
    instance: Instance,
    *,
    force: Mapping[str, str] | None = None,
    forbid: Iterable[tuple[str, str]] = (),
    risk_cap_cents: int | None = None,
    time_limit_s: float = 30.0,
) -> Explanation:
    """Find a minimal set of named rules that make the model infeasible.

    Args:
        instance: The study.
        force: Forced options (as in `optimize.model.solve`), named in the explanation.
        forbid: Excluded offers (as in `solve`).
        risk_cap_cents: Risk cap (as in `solve`).
        time_limit_s: Limit per feasibility check.

    Returns:
        The explanation (lines in business words and group names, in model order).

    Raises:
        FeasibleError: The model with all rules is feasible.
    """
    from ortools.sat.python import cp_model  # noqa: PLC0415 - imported on first use

    restrictions = Restrictions(
        force=dict(force or {}), forbid=tuple(forbid), risk_cap_cents=risk_cap_cents
    )
    built = build_model(instance, restrictions, explain=True)
    order = list(built.groups)
    strong = [n for n in order if not built.groups[n].weak]
    weak = [n for n in order if built.groups[n].weak]

    status, core = _check(built, strong, time_limit_s)
    if status != cp_model.INFEASIBLE:
        status, core = _check(built, order, time_limit_s)
        if status != cp_model.INFEASIBLE:
            raise FeasibleError("the model is feasible; there is nothing to explain")
    # Deletion filter: try to drop weak groups first, then the others in model order.
    rank = {n: i for i, n in enumerate(weak + strong)}
    current = sorted(set(core), key=rank.__getitem__)
    for name in list(current):
        if name not in current:
            continue
        trial = [n for n in current if n != name]
        st, sub = _check(built, trial, time_limit_s)
        if st == cp_model.INFEASIBLE:
            keep = set(sub)
            current = [n for n in trial if n in keep]
    # Re-check the final set.
    st, _ = _check(built, current, time_limit_s)
    if st != cp_model.INFEASIBLE:  # pragma: no cover - would be a CP-SAT bug
        raise RuntimeError("the minimal explanation did not re-check as infeasible")
    chosen = [n for n in order if n in set(current)]
    if not chosen:
        return Explanation(
            lines=("the model is infeasible without any business rule; check the instance data",),
            constraints=(),
        )
    return Explanation(lines=tuple(built.groups[n].text for n in chosen), constraints=tuple(chosen))
