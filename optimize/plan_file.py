"""A plan file: the sourcing decisions to implement, instead of the optimum (for the roadmap).

CSV with a header row and at least the columns `process` and `decision` (`in_house` or a
provider id); other columns are ignored, so a `sourcing_plan.csv` of an earlier run (edited
or not) is a plan file. Processes the file does not name stay in-house. The IT systems follow
from the decisions: the cheapest system decisions that the study's rules allow for that split
(the sourcing model solved with every process's option forced).
"""

import csv
import difflib
import io
from pathlib import Path

from optimize.instance import IN_HOUSE, Instance, Plan
from optimize.model import SolverConfig, solve
from pipelines.errors import InputError, Problem


def _known(names: list[str], value: str, what: str) -> str:
    lower = {n.lower(): n for n in names}
    near = difflib.get_close_matches(value.lower(), list(lower), n=1)
    hint = f"did you mean {lower[near[0]]!r}? " if near else ""
    return f"unknown {what} {value!r}; {hint}known: {', '.join(names)} — fix the spelling"


def read_plan_file(path: str | Path, instance: Instance) -> dict[str, str]:
    """The decision per process of a plan file (processes it does not name: in-house).

    Args:
        path: The CSV file.
        instance: The study (for the known processes and providers).

    Returns:
        Option per process id.

    Raises:
        InputError: The file cannot be read, lacks a column, or names an unknown process or
            provider, or a process twice (every problem, with its line).
    """
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError([Problem(file, f"cannot be read ({exc}); give a CSV plan file")]) from exc
    rows = list(csv.reader(io.StringIO(text, newline="")))
    if not rows:
        raise InputError([Problem(file, "is empty; write a header row `process,decision`")])
    header = [h.strip() for h in rows[0]]
    missing = [c for c in ("process", "decision") if c not in header]
    if missing:
        raise InputError(
            [
                Problem(
                    file,
                    f"column {c!r} is missing; the header needs `process,decision`",
                    line=1,
                )
                for c in missing
            ]
        )
    col_p, col_d = header.index("process"), header.index("decision")
    processes = [p.id for p in instance.processes]
    options = [IN_HOUSE, *(v.id for v in instance.providers)]
    problems: list[Problem] = []
    assignment = dict.fromkeys(processes, IN_HOUSE)
    seen: dict[str, int] = {}
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        process = row[col_p].strip() if col_p < len(row) else ""
        decision = row[col_d].strip() if col_d < len(row) else ""
        if process not in assignment:
            problems.append(
                Problem(file, "process: " + _known(processes, process, "process"), line)
            )
            continue
        if process in seen:
            problems.append(
                Problem(
                    file,
                    f"process: {process!r} is listed twice (first on line {seen[process]}); "
                    "keep one row",
                    line,
                )
            )
            continue
        seen[process] = line
        if decision not in options:
            problems.append(
                Problem(file, "decision: " + _known(options, decision, "provider"), line)
            )
            continue
        assignment[process] = decision
    if problems:
        raise InputError(problems)
    return assignment


def plan_from_file(
    path: str | Path, instance: Instance, config: SolverConfig | None = None
) -> Plan:
    """The full plan (systems and rebate tiers included) of a plan file's decisions.

    Raises:
        InputError: The file is bad (see `read_plan_file`), or the study's rules do not allow
            its split; the message then names the rules it breaks.
    """
    from optimize.explain import explain_infeasibility  # noqa: PLC0415

    assignment = read_plan_file(path, instance)
    result = solve(instance, config, force=assignment)
    if result.plan is None:
        reason = f"solver status {result.status}"
        if result.status == "infeasible":
            reason = "; ".join(explain_infeasibility(instance, force=assignment).lines)
        raise InputError(
            [Problem(str(path), f"this split breaks the study's rules: {reason}; change it")]
        )
    return result.plan
