"""A study from scratch: the cost file's skeleton and the providers' price sheet.

`costs_skeleton(mined)` writes the text of a cost file from a `bpo mine` folder (`bpo costs
init`): every process found, with its mined facts as comments; one role per role found in the
log (rates left as `TODO`); every IT system found (run cost `TODO`); one example provider and
an example offer, commented, with links into `docs/cost-file.md`. `TODO` is a value the
validator refuses (`optimize.todo`), so `bpo validate` lists what is still to be filled in.

`offer_sheet(costs, mined)` is the request-for-price sheet (`bpo offers template`): one row
per process and provider with the facts a provider prices on and empty price columns; filled
in and saved as `offers.csv` beside the cost file, it is read as offers
(`optimize.costfile.CSV_INFO_COLUMNS` are ignored, unpriced rows are no offer).
"""

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import yaml

from optimize.build import load_mined_dir
from optimize.costfile import CSV_INFO_COLUMNS, CSV_PRICE_COLUMNS
from optimize.todo import DOCS, TODO
from pipelines.errors import InputError, Problem

DEFAULT_ROLE = "staff"
EXAMPLE_PROVIDER = "provider_1"
SHEET_COLUMNS: tuple[str, ...] = (
    "process",
    "provider",
    *CSV_INFO_COLUMNS,
    *CSV_PRICE_COLUMNS,
    "it",
    "risk_per_year",
)
"""Columns of the price sheet: who, the facts to price on, then what the provider fills in."""


# --------------------------------------------------------------------------------------------
# bpo costs init
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MinedFacts:
    """What the skeleton and the price sheet say about one mined process."""

    process: str
    cases_per_year: float | None
    handling_hours_per_case: float | None
    handling_time_source: str
    fte: float | None
    systems: tuple[str, ...]
    p90_throughput_hours: float | None


def _float(value: Any) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def mined_facts(mined: str | Path) -> list[MinedFacts]:
    """The processes of a `bpo mine` folder with the facts the skeleton and the sheet show.

    Raises:
        InputError: The folder is not a `bpo mine` output folder.
    """
    load_mined_dir(mined)  # the checks and messages of `bpo optimize --mined`
    kpis = pl.read_csv(Path(mined) / "process_kpis.csv", infer_schema=False)
    out = []
    for row in kpis.iter_rows(named=True):
        systems = tuple(s for s in (row.get("systems") or "").split(";") if s)
        out.append(
            MinedFacts(
                process=row["process"],
                cases_per_year=_float(row.get("cases_per_year")),
                handling_hours_per_case=_float(row.get("handling_hours_per_case")),
                handling_time_source=row.get("handling_time_source") or "none",
                fte=_float(row.get("fte")),
                systems=systems,
                p90_throughput_hours=_float(row.get("p90_throughput_hours")),
            )
        )
    return out


def _scalar(value: Any) -> str:
    """A value as a YAML scalar (quoted when it must be)."""
    text = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=1_000_000)
    return text.strip().removesuffix("...").strip()


def _figure(value: float | None, digits: int = 0) -> str:
    return "?" if value is None else f"{value:,.{digits}f}"


def _roles(mined: Path) -> tuple[list[tuple[str, int]], int]:
    """Roles found (with how many activities each is the main role of), activities without."""
    stats = pl.read_csv(mined / "activity_stats.csv", infer_schema=False)
    counts = (
        stats.filter(pl.col("main_role").is_not_null() & (pl.col("main_role") != ""))
        .group_by("main_role")
        .len()
        .sort(["len", "main_role"], descending=[True, False])
    )
    without = stats.height - int(counts["len"].sum()) if counts.height else stats.height
    return [(r, int(n)) for r, n in counts.iter_rows()], without


def _resources_by_role(mined: Path) -> dict[str, list[str]]:
    log = mined / "normalized_log.parquet"
    if not log.is_file():
        return {}
    try:
        frame = pl.scan_parquet(log).select("role", "resource").unique().collect()
    except (pl.exceptions.PolarsError, OSError):
        return {}
    out: dict[str, list[str]] = {}
    for role, resource in frame.sort("role", "resource").iter_rows():
        if role is not None and resource is not None:
            out.setdefault(role, []).append(resource)
    return out


def _systems(mined: Path) -> dict[str, list[tuple[str, float]]]:
    usage = pl.read_csv(mined / "system_usage.csv", infer_schema=False)
    out: dict[str, list[tuple[str, float]]] = {}
    for row in usage.iter_rows(named=True):
        if row.get("system"):
            share = _float(row.get("share_of_process_events")) or 0.0
            out.setdefault(row["system"], []).append((row["process"], share))
    return out


_HEADER = """\
# Cost file of your study, written by `bpo costs init --mined {mined}`.
# Every key is explained in {docs}. Replace every TODO (`bpo validate --costs FILE` lists
# those left, with their line), check the defaults, then run:
#   bpo run --log <your logs> --costs <this file>
schema_version: 1
currency: EUR                      # ISO code of every amount below

study:                             # {docs}#study
  horizon_years: 5                 # one-time costs are spread over these years
  discount_rate: 0.08              # 0 spreads them evenly
  hours_per_fte: 1600              # practical hours of one full-time employee per year
  governance_share: 0.05           # retained organisation: share of the net provider fees
  cost_per_cross_org_handover: 0   # per handover between processes run by different parties
  # observation_period: {{start: 2025-01-01, end: 2025-12-31}}   # default: first..last event
  # max_providers: 2
  # risk: {{mode: constraint, budget_per_year: 100000}}   # constraint | objective | none

mining:                            # {docs}#mining
  exclude_resources: []            # batch users and system accounts, e.g. [BATCH, SYSTEM]
  # timezone: Europe/Berlin        # of timestamps written without a zone (default UTC)

"""


def costs_skeleton(mined: str | Path) -> str:
    """The text of a cost file for the processes of a `bpo mine` folder.

    Args:
        mined: The output folder of `bpo mine`.

    Returns:
        YAML with comments; the values only the user knows are `TODO`.

    Raises:
        InputError: The folder is not a `bpo mine` output folder, or has no process.
    """
    folder = Path(mined)
    facts = mined_facts(folder)
    if not facts:
        raise InputError(Problem(str(folder / "process_kpis.csv"), "holds no process"))
    roles, without_role = _roles(folder)
    resources = _resources_by_role(folder)
    systems = _systems(folder)
    out = [_HEADER.format(mined=folder, docs=DOCS)]

    out.append(f"roles:                             # {DOCS}#roles\n")
    out.append(
        "  # Fully loaded cost of one hour (or cost_per_year with practical_hours_per_year).\n"
    )
    if not roles:
        out.append(
            "  # The log names no roles: one role for everyone, or list resources per role.\n"
        )
        out.append(f"  - id: {DEFAULT_ROLE}\n    cost_per_hour: {TODO}\n")
    for role, activities in roles:
        people = resources.get(role, [])
        shown = ", ".join(people[:8]) + (f" and {len(people) - 8} more" if len(people) > 8 else "")
        note = f"main role of {activities} activit{'y' if activities == 1 else 'ies'}"
        if people:
            note += f"; resources: {shown}"
        out.append(f"  - id: {_scalar(role)}          # {note}\n    cost_per_hour: {TODO}\n")
    default = roles[0][0] if roles else DEFAULT_ROLE
    out.append(
        f"default_role: {_scalar(default)}   # rate of resources in no role"
        + (f" ({without_role} activities have no role in the log)" if without_role else "")
        + "\n\n"
    )

    out.append(f"data_classes: {{}}                   # {DOCS}#data_classes\n")
    out.append(
        "  # e.g. personal: {allowed_locations: [DE, EU], required_certifications: [ISO27001]}\n\n"
    )

    out.append(f"processes:                         # {DOCS}#processes\n")
    for fact in facts:
        out.append(f"  - id: {_scalar(fact.process)}\n")
        out.append(
            f"    # mined: {_figure(fact.cases_per_year)} cases/year, "
            f"{_figure(fact.handling_hours_per_case, 2)} h handling per case "
            f"({fact.handling_time_source}), {_figure(fact.fte, 1)} FTE, "
            f"P90 throughput {_figure(fact.p90_throughput_hours)} h, "
            f"systems: {', '.join(fact.systems) or 'none'}\n"
        )
        out.append("    core: false                    # true: never outsourced\n")
        out.append("    # data_class: personal         # a key of data_classes\n")
        out.append(
            "    # calibration_factor: 1.0      # work the log does not show (1.2 = +20 %)\n"
        )
    out.append("\n")

    out.append(f"systems:                           # {DOCS}#systems\n")
    if not systems:
        out.append("  []  # no IT system found in the log (mining.activity_to_system maps them)\n")
    for system, users in systems.items():
        used = ", ".join(f"{p} {share:.0%}" for p, share in users)
        out.append(f"  - id: {_scalar(system)}          # share of events: {used}\n")
        out.append(f"    run_cost_per_year: {TODO}\n")
        out.append(
            "    policy: all_or_nothing         # all_or_nothing | shareable | not_movable\n"
        )
        out.append("    retirable: true\n")
    out.append("\n")

    first = facts[0].process
    out.append(f"providers:                         # {DOCS}#providers\n")
    out.append("  # One example: rename it, fill it in, add the others.\n")
    out.append(f"  - id: {EXAMPLE_PROVIDER}\n")
    out.append(f"    location: {TODO}                 # country code, e.g. DE or PL\n")
    out.append("    certifications: []             # e.g. [ISO27001]\n")
    out.append("    setup_cost: 0                  # one-time cost of contracting the provider\n")
    out.append(f"    management_cost_per_year: {TODO}  # vendor management while contracted\n")
    out.append("    # capacity: {cases_per_year: 100000}\n")
    out.append("    # min_annual_value: 0\n")
    out.append(
        "    # rebate_tiers: [{min_spend: 0, rebate: 0.0}, {min_spend: 500000, rebate: 0.05}]\n"
    )
    out.append("\n")
    out.append(f"# offers:                          # {DOCS}#offers\n")
    out.append("# Offers usually come back as the price sheet of `bpo offers template`, saved as\n")
    out.append("# offers.csv beside this file. Or write them here, e.g.:\n")
    out.append(f"#  - process: {_scalar(first)}\n")
    out.append(f"#    provider: {EXAMPLE_PROVIDER}\n")
    out.append("#    price_per_case: 3.10\n")
    out.append("#    fixed_per_year: 12000\n")
    out.append("#    transition_cost: 60000\n")
    out.append("#    sla_throughput_hours: 48\n")
    return "".join(out)


# --------------------------------------------------------------------------------------------
# bpo offers template
# --------------------------------------------------------------------------------------------


def _raw_costs(path: Path) -> dict[str, Any]:
    """The cost file as parsed YAML; TODOs are fine here, a broken file is not."""
    from optimize.costfile import load_costs, parse_costs  # noqa: PLC0415

    try:
        text = path.read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError):
        load_costs(path)  # raises the usual message
        raise
    try:
        parse_costs(text, str(path))
    except InputError as err:
        others = [p for p in err.problems if "still TODO" not in p.message]
        if others:
            raise InputError(others) from None
    data = yaml.load(text, Loader=_loader())
    return data if isinstance(data, dict) else {}


def _loader() -> type:
    from optimize.costfile import _Loader  # noqa: PLC0415

    return _Loader


def _items(data: dict[str, Any], key: str) -> list[dict[str, Any]]:
    section = data.get(key)
    return [item for item in section if isinstance(item, dict)] if isinstance(section, list) else []


def _cell(value: float | None, digits: int) -> str:
    return "" if value is None else f"{round(value, digits):g}"


def offer_sheet(costs: str | Path, mined: str | Path | None = None) -> str:
    """The request-for-price sheet: one row per process × provider.

    Processes are those of the mined folder and of the cost file; core processes are left
    out (they are never outsourced). The facts come from the mined folder, and a process's
    `override` in the cost file wins, as in the model.

    Args:
        costs: The cost file (TODOs allowed; its providers and processes are read).
        mined: A `bpo mine` output folder, optional.

    Returns:
        CSV text with the columns of `SHEET_COLUMNS`.

    Raises:
        InputError: The cost file is broken (other than TODOs) or names no provider, or the
            folder is not a `bpo mine` folder, or there is no process to price.
    """
    path = Path(costs)
    data = _raw_costs(path)
    providers = [str(p["id"]) for p in _items(data, "providers") if isinstance(p.get("id"), str)]
    if not providers:
        raise InputError(
            Problem(
                str(path),
                f"names no provider; add them under providers: (see {DOCS}#providers)",
            )
        )
    facts = {f.process: f for f in mined_facts(mined)} if mined is not None else {}
    entries = {str(p["id"]): p for p in _items(data, "processes") if isinstance(p.get("id"), str)}
    order = [*facts, *(p for p in entries if p not in facts)]
    rows = []
    for process in order:
        entry = entries.get(process, {})
        if entry.get("core") is True:
            continue
        override = entry.get("override") if isinstance(entry.get("override"), dict) else {}
        fact = facts.get(process)
        cases = _float(override.get("cases_per_year")) if override else None
        hours = _float(override.get("handling_hours_per_case")) if override else None
        p90 = _float(override.get("throughput_p90_hours")) if override else None
        systems = override.get("systems") if override else None
        if fact is not None:
            cases = cases if cases is not None else fact.cases_per_year
            hours = hours if hours is not None else fact.handling_hours_per_case
            p90 = p90 if p90 is not None else fact.p90_throughput_hours
            systems = systems if systems is not None else list(fact.systems)
        data_class = entry.get("data_class")
        facts_row = {
            "cases_per_year": _cell(cases, 0),
            "handling_hours_per_case": _cell(hours, 3),
            "throughput_p90_hours": _cell(p90, 1),
            "systems": ";".join(str(s) for s in systems or []),
            "data_class": data_class if isinstance(data_class, str) else "",
        }
        rows += [{"process": process, "provider": v, **facts_row} for v in providers]
    if not rows:
        raise InputError(
            Problem(
                str(path),
                "no process to price: give --mined DIR, or list non-core processes with "
                "override.cases_per_year",
            )
        )
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=SHEET_COLUMNS, restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()
