"""A plan that holds up: sample average approximation over S scenarios in one CP-SAT model.

The sourcing model of `optimize.model` is built once per scenario (`scenario_instance`) into
**one** CP-SAT model whose decisions are shared: every scenario copy uses the same x[p,o],
u[v], keep/retire/y[s,v] and coupling variables, so the plan is the same in every scenario
and must keep every rule in each of them (capacities with that scenario's volumes, minimum
values with its spend). What may differ per scenario is only what follows from the plan: the
rebate tier each provider's spend reaches, and hence the cost.

Objective over the S equally likely scenarios with costs c_s (cents per year):

- `expected`: minimise Σ_s c_s (the mean, times S);
- `cvar`: minimise the conditional value at risk at level α (Rockafellar & Uryasev 2000),
  CVaR_α = min_η η + Σ_s max(0, c_s − η) / ((1 − α)·S). With k = (1 − α)·S = a/b exactly, the
  model minimises a·η + b·Σ_s e_s with e_s ≥ c_s − η, e_s ≥ 0 (the same optimum, in integers).

With zero spread every copy is the same model, so both objectives give the deterministic
optimum.
"""

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Literal

from optimize.instance import Instance, Plan
from optimize.model import Restrictions, SolverConfig, _Model, _solver, _status
from optimize.uncertainty import Scenario, scenario_instance

SaaObjective = Literal["expected", "cvar"]

SHARED_PREFIXES = ("x[", "u[", "keep[", "retire[", "y[", "g[", "same[")
"""Names of the decision variables every scenario copy shares (the plan itself)."""

_BOUND = 2**48
"""Bound (cents) of η and the excess variables: 2.8 trillion a year, far above any study."""


class _Copy(_Model):
    """The model of one scenario, built into a shared CP-SAT model with shared decisions."""

    def __init__(self, inst: Instance, model: object, shared: dict, tag: str) -> None:
        self.shared = shared
        self.tag = tag
        self._m = model
        super().__init__(inst, Restrictions(), explain=False)

    def __setattr__(self, name: str, value: object) -> None:
        # `_Model.__init__` creates its own CpModel as `self.m`; every copy uses the shared one.
        if name == "m" and getattr(self, "_m", None) is not None:
            value = self._m
        object.__setattr__(self, name, value)

    def _bool(self, name: str) -> object:
        """A decision variable: the shared one for the plan's decisions, else this copy's."""
        if name.startswith(SHARED_PREFIXES):
            if name not in self.shared:
                self.shared[name] = self.m.new_bool_var(name)
            return self.shared[name]
        return self.m.new_bool_var(f"{self.tag}:{name}")


@dataclass(frozen=True)
class SaaResult:
    """The plan of the sample-average model.

    Attributes:
        objective: `expected` or `cvar`.
        status: CP-SAT status.
        plan: The plan (rebate tiers left to each scenario's spend), or None.
        value_cents: The objective: mean cost (`expected`) or CVaR (`cvar`) over the S
            scenarios, in cents per year (None without a plan).
        scenarios: S.
        seconds: Wall-clock seconds of the solve.
    """

    objective: SaaObjective
    status: str
    plan: Plan | None
    value_cents: float | None
    scenarios: int
    seconds: float


def saa_plan(
    instance: Instance,
    scenarios: Sequence[Scenario],
    objective: SaaObjective = "expected",
    cvar_level: float = 0.95,
    config: SolverConfig | None = None,
) -> SaaResult:
    """Solve the sample-average model over `scenarios` (equally likely).

    Args:
        instance: The deterministic study.
        scenarios: The S scenarios (their probabilities are ignored: each counts 1/S).
        objective: `expected` (mean cost) or `cvar` (CVaR at `cvar_level`).
        cvar_level: α in (0, 1).
        config: Solver settings (a hint is used as the plan hint).

    Returns:
        The status, the plan and the objective value.
    """
    from ortools.sat.python import cp_model  # noqa: PLC0415 - imported on first use

    if not scenarios:
        raise ValueError("the sample-average model needs at least one scenario")
    if not 0 < cvar_level < 1:
        raise ValueError("cvar_level must be in (0, 1)")
    config = config or SolverConfig()
    model = cp_model.CpModel()
    shared: dict = {}
    copies = [
        _Copy(scenario_instance(instance, s), model, shared, f"s{i}")
        for i, s in enumerate(scenarios)
    ]
    costs = [sum(c.objective) for c in copies]
    n = len(copies)
    if objective == "expected":
        model.minimize(sum(costs))
    else:
        k = (1 - Fraction(str(cvar_level))) * n
        a, b = k.numerator, k.denominator
        eta = model.new_int_var(-_BOUND, _BOUND, "eta")
        excess = []
        for i, cost in enumerate(costs):
            e = model.new_int_var(0, _BOUND, f"excess[{i}]")
            model.add(e >= cost - eta)
            excess.append(e)
        model.minimize(a * eta + b * sum(excess))
    first = copies[0]
    if config.hint is not None:
        first.hint(config.hint)
    start = time.perf_counter()
    solver = _solver(config, presolve=True)
    code = solver.solve(model)
    seconds = time.perf_counter() - start
    status = _status(code)
    if status not in ("optimal", "feasible"):
        return SaaResult(objective, status, None, None, n, seconds)
    plan = replace(first.extract(solver), tiers={})
    # expected: Σ c_s / S; CVaR = η + Σ e_s / k = (a·η + b·Σ e_s) / a
    value = round(solver.objective_value) / (n if objective == "expected" else a)
    return SaaResult(objective, status, plan, value, n, seconds)
