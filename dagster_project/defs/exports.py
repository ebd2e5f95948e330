"""Exports: the results folder (CSV files of docs/results.md, models, report) and the report.

The two assets are built by a factory so that `bpo mine` and `bpo optimize` can run the same
assets on part of the graph: `export_assets(mining=True, optimization=True)` is the full
pipeline of the code location.
"""

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import polars as pl

from dagster_project.defs.common import input_errors_as_failure, try_load_costs
from dagster_project.defs.inputs import COST_FILE
from dagster_project.defs.io import stored_file
from dagster_project.defs.mining import MINED_KEYS, ProcessModels
from dagster_project.defs.optimization import CostModel, SourcingPlan
from dagster_project.defs.resources import BpoOutput, Progress
from dagster_project.defs.roadmap import roadmap_files, roadmap_section
from dagster_project.defs.steering import ConformanceReport, model_pairs
from dagster_project.exports import FileContent, publish
from dagster_project.report import (
    ModelPair,
    ParetoPoint,
    ProcessMap,
    ReportData,
    TornadoBar,
    UncertaintyView,
    money,
    render_report,
)
from optimize.analysis import Analyses, SensitivityRow
from optimize.analysis import ParetoPoint as AnalysisPareto
from optimize.evaluate import Evaluation, evaluate, status_quo
from optimize.explain import Explanation
from optimize.instance import IN_HOUSE, Instance, Plan
from optimize.model import SolveResult
from optimize.plan_changes import (
    INPUTS_JSON,
    load_snapshot,
    plan_changes,
    plan_inputs,
    snapshot_from_tables,
)
from optimize.report_tables import tables as report_tables
from optimize.uncertainty import (
    UncertaintyResult,
    plans_summary,
    plans_table,
    scenario_table,
    stability_summary,
    stability_table,
)
from pipelines.errors import InputError
from pipelines.quality import check_quality

PLAN_KEYS = ("sourcing_plan", "break_even", "sensitivity", "pareto_front")
"""Optimization assets the exports read besides `cost_model`."""

STEERING_KEYS = ("kpi_history", "drift", "conformance")
"""Steering assets (not partitioned) the exports read in the full pipeline."""

OPTIMIZATION_FILES = (
    "sourcing_plan",
    "systems_plan",
    "providers",
    "cost_breakdown",
    "break_even",
    "sensitivity",
    "pareto",
    "solver",
)
"""The CSV files of docs/results.md (without `.csv`)."""


KPI_COLUMNS = (
    "process",
    "cases_per_year",
    "variants",
    "top_variant_share",
    "median_throughput_hours",
    "p90_throughput_hours",
    "handling_hours_per_case",
    "fte",
    "rework_rate",
    "systems",
    "fitness",
    "precision",
    "model",
)
"""The KPI columns the report shows (the CSV has all of them)."""

PROVIDER_COLUMNS = (
    "provider",
    "location",
    "processes",
    "cases",
    "gross_fees",
    "rebate",
    "net_fees",
    "capacity_used",
    "min_value_headroom",
)
"""The provider columns the report shows."""


def _some_columns(frame: pl.DataFrame, columns: Sequence[str]) -> pl.DataFrame:
    return frame.select([c for c in columns if c in frame.columns])


@dataclass(frozen=True)
class PublishedResults:
    """What `csv_exports` wrote.

    Attributes:
        folder: The results folder.
        files: Relative paths of every file written.
    """

    folder: str
    files: tuple[str, ...]


def _plan_tables(values: dict[str, Any]) -> dict[str, pl.DataFrame]:
    """The docs/results.md frames, or none when there is no feasible plan."""
    model: CostModel | None = values.get("cost_model")
    plan: SourcingPlan | None = values.get("sourcing_plan")
    if model is None or model.instance is None or plan is None or not plan.feasible:
        return {}
    analyses = Analyses(
        break_even=values.get("break_even") or (),
        sensitivity=values.get("sensitivity") or (),
        pareto=values.get("pareto_front") or (),
        marginal=plan.marginal,
    )
    return report_tables(model.instance, plan.result, analyses, plan.evaluation)


def _maps(models: ProcessModels | None) -> tuple[ProcessMap, ...]:
    if models is None:
        return ()
    out = []
    for result in models.results:
        svg = Path(result.svg)
        out.append(ProcessMap(result.process, svg=svg.read_text(encoding="utf-8")))
    return tuple(out)


def plan_change_files(
    values: dict[str, Any],
    out_folder: str | Path | None,
    tables: dict[str, pl.DataFrame] | None = None,
) -> dict[str, FileContent]:
    """`plan_changes.csv` against the plan in the results folder, and this run's `inputs.json`.

    Every run with a plan keeps its inputs (`inputs.json`, beside `sourcing_plan.csv` and
    `systems_plan.csv`), so the folder is the snapshot the next run compares with. Read before
    the folder is replaced; no `plan_changes.csv` when the folder holds no earlier plan.
    `tables` are `_plan_tables(values)` when the caller has them already.
    """
    model: CostModel | None = values.get("cost_model")
    if tables is None:
        tables = _plan_tables(values)
    if model is None or model.instance is None or not tables:
        return {}
    costs, _ = try_load_costs(model.cost_file)
    current = snapshot_from_tables(tables, plan_inputs(model.instance, costs))
    data = {"total_cost": current.total_cost, **current.inputs.to_json()}
    files: dict[str, FileContent] = {INPUTS_JSON: json.dumps(data, indent=2) + "\n"}
    if out_folder is not None and (Path(out_folder) / "sourcing_plan.csv").is_file():
        try:
            previous = load_snapshot(out_folder)
        except InputError:
            return files  # an unreadable earlier plan must not block this run: no comparison
        files["plan_changes.csv"] = plan_changes(previous, current)
    return files


def uncertainty_files(values: dict[str, Any]) -> dict[str, FileContent]:
    """`uncertainty.csv`, `decision_stability.csv` (and `robust_plan.csv`) when asked for."""
    result: UncertaintyResult | None = values.get("uncertainty")
    model: CostModel | None = values.get("cost_model")
    if result is None or model is None or model.instance is None:
        return {}
    files: dict[str, FileContent] = {
        "uncertainty.csv": scenario_table(model.instance, result),
        "decision_stability.csv": stability_table(result),
    }
    if result.plans:
        files["robust_plan.csv"] = plans_table(result)
    return files


def uncertainty_view(values: dict[str, Any]) -> UncertaintyView | None:
    """The report's view of the `uncertainty` asset (None without one)."""
    result: UncertaintyResult | None = values.get("uncertainty")
    if result is None:
        return None
    s = result.summary
    boot = [p for p, src in result.sources.items() if src == "bootstrap"]
    basis = (
        f"volumes and handling hours of {len(boot)} process(es) resampled from "
        f"{len(result.months)} whole months of the log"
        if boot
        else "volumes and handling hours by the cost file's ranges"
    )
    return UncertaintyView(
        savings=tuple(o.saving_cents / 100 for o in result.outcomes),
        p_loss=s.p_loss,
        mean=s.mean_cents / 100,
        p5=s.p5_cents / 100,
        p50=s.p50_cents / 100,
        p95=s.p95_cents / 100,
        stability=stability_summary(result) if result.stability else None,
        basis=basis,
        plans=plans_summary(result) if result.plans else None,
    )


def _conformance_table(values: dict[str, Any]) -> pl.DataFrame | None:
    report: ConformanceReport | None = values.get("conformance")
    if report is None or not report.references:
        return None
    return report.table


def build_report_data(
    values: dict[str, Any],
    title: str = "Sourcing study",
    out_folder: str | Path | None = None,
) -> ReportData:
    """Assemble the report's content from asset values (any subset of the pipeline).

    `out_folder` is the results folder before this run replaces it: the previous plan, for
    the plan-changes table.
    """
    kpis: pl.DataFrame | None = values.get("process_kpis")
    log: pl.DataFrame | None = values.get("event_log")
    subtitle = f"Generated {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC"
    if log is not None and not log.is_empty():
        subtitle = (
            f"{log['case_id'].n_unique():,} cases, {log.height:,} events, observed "
            f"{log['timestamp'].min():%d %b %Y} – {log['timestamp'].max():%d %b %Y} · " + subtitle
        )
    parts: dict[str, Any] = {}
    tables = _plan_tables(values)
    model: CostModel | None = values.get("cost_model")
    plan: SourcingPlan | None = values.get("sourcing_plan")
    if model is not None and model.instance is not None and plan is not None:
        parts = optimization_report_parts(
            model.instance,
            result=plan.result,
            evaluation=plan.evaluation,
            explanation=plan.explanation,
            tables=tables,
            analyses=values,
        )
    notes = list(parts.pop("notes", ()))
    if model is not None:
        notes += list(model.warnings)
    if parts.get("providers") is not None:
        parts["providers"] = _some_columns(parts["providers"], PROVIDER_COLUMNS)
    changes = plan_change_files(values, out_folder, tables).get("plan_changes.csv")
    pairs = model_pairs(values.get("conformance"), values.get("process_models"))
    parts |= {
        "history": values.get("kpi_history"),
        "drift": values.get("drift"),
        "plan_changes": changes if isinstance(changes, pl.DataFrame) else None,
        "conformance": _conformance_table(values),
        "model_pairs": tuple(ModelPair(p, ref, mined) for p, ref, mined in pairs),
        "uncertainty": uncertainty_view(values),
        "roadmap": roadmap_section(values),
    }
    return ReportData(
        title=title,
        subtitle=subtitle,
        kpis=None if kpis is None else _some_columns(kpis, KPI_COLUMNS),
        maps=_maps(values.get("process_models")),
        notes=tuple(notes),
        **parts,
    )


def results_files(
    values: dict[str, Any], report_html: str | None, out_folder: str | Path | None = None
) -> dict[str, FileContent]:
    """Every file of the results folder from asset values (any subset of the pipeline).

    `out_folder` is the results folder before this run replaces it (for `plan_changes.csv`).
    """
    files: dict[str, FileContent] = {}
    log: pl.DataFrame | None = values.get("event_log")
    if log is not None:
        files["normalized_log.parquet"] = log
        files["data_quality.csv"] = check_quality(log, "event_log").table
    for key in MINED_KEYS:
        frame = values.get(key)
        if isinstance(frame, pl.DataFrame):
            files[f"{key}.csv"] = frame
    models: ProcessModels | None = values.get("process_models")
    if models is not None:
        for path in sorted(Path(models.folder).iterdir()):
            if path.is_file():
                files[f"models/{path.name}"] = path
    tables = _plan_tables(values)
    for name, frame in tables.items():
        files[f"{name}.csv"] = frame
    files |= plan_change_files(values, out_folder, tables)
    files |= uncertainty_files(values)
    for key in ("kpi_history", "drift"):
        frame = values.get(key)
        if isinstance(frame, pl.DataFrame):
            files[f"{key}.csv"] = frame
    conformance = _conformance_table(values)
    if conformance is not None:
        files["conformance.csv"] = conformance
    plan: SourcingPlan | None = values.get("sourcing_plan")
    if plan is not None and plan.explanation is not None:
        files["infeasibility.txt"] = plan.explanation.text()
    files |= roadmap_files(values)
    if report_html is not None:
        files["report.html"] = report_html
    return files


def export_assets(
    mining: bool = True,
    optimization: bool = True,
    steering: bool = False,
    uncertainty: bool = False,
    roadmap: bool = False,
) -> list[dg.AssetsDefinition]:
    """The `report` and `csv_exports` assets over the chosen parts of the pipeline.

    With `steering` (the code location's full pipeline) they also read `kpi_history`, `drift`
    and `conformance` (needs `mining`); with `uncertainty` the `uncertainty` asset and with
    `roadmap` the `roadmap` asset (both need `optimization`).
    """
    names: list[str] = []
    if mining:
        names += ["event_log", "process_models", *MINED_KEYS]
    elif optimization:
        names += ["process_kpis"]
    if optimization:
        names += ["cost_model", *PLAN_KEYS]
    if steering and mining:
        names += list(STEERING_KEYS)
    if uncertainty and optimization:
        names += ["uncertainty"]
    if roadmap and optimization:
        names += ["roadmap"]
    ins = {name: dg.AssetIn(name) for name in names}

    @dg.asset(name="report", group_name="exports", ins=ins, kinds={"html"})
    def report(
        context: dg.AssetExecutionContext, output: BpoOutput, progress: Progress, **values: Any
    ) -> dg.Output[str]:
        """A one-page report for decision makers, self-contained: opens offline and prints.

        Headline savings, the plan, the cost waterfall from the status quo, the tornado of
        sensitivities, cost versus risk, the KPI table and the process maps.
        """
        progress.step(context, "writing the report")
        html = render_report(build_report_data(values, out_folder=output.folder))
        return dg.Output(html, metadata={"size_kb": dg.MetadataValue.float(len(html) / 1024)})

    @dg.asset(
        name="csv_exports",
        group_name="exports",
        ins={**ins, "report": dg.AssetIn("report")},
        deps=[COST_FILE] if optimization else [],  # inputs.json snapshots the cost file
        kinds={"csv"},
    )
    def csv_exports(
        context: dg.AssetExecutionContext,
        output: BpoOutput,
        progress: Progress,
        **values: Any,
    ) -> dg.Output[PublishedResults]:
        """The results folder to take into Excel, replaced as a whole when all of it is written.

        Every CSV file of the study, the process models, the normalized log and the report.
        """
        report_html = values.pop("report")
        files = results_files(values, report_html, output.folder)
        stored = stored_file(values.get("event_log"))
        if stored is not None and stored.suffix == ".parquet":
            files["normalized_log.parquet"] = stored  # the same frame: copied, not re-encoded
        progress.step(context, f"publishing {len(files)} files to {output.folder}")
        published = _publish(output.folder, files)
        rows = {
            name: frame.height for name, frame in files.items() if isinstance(frame, pl.DataFrame)
        }
        return dg.Output(
            PublishedResults(str(published), tuple(sorted(files))),
            metadata={
                "folder": dg.MetadataValue.path(str(published)),
                "files": dg.MetadataValue.int(len(files)),
                "rows": dg.MetadataValue.json(rows),
            },
        )

    return [report, csv_exports]


def _publish(folder: str, files: dict[str, FileContent]) -> Path:
    with input_errors_as_failure("results folder"):
        return publish(folder, files)


_COMPONENT_LABELS = {
    "inhouse_labour": "In-house labour",
    "inhouse_other": "Other in-house cost",
    "retained_organisation": "Retained organisation",
    "provider_fees_gross": "Provider fees",
    "rebates": "Rebates",
    "governance": "Governance",
    "vendor_management": "Vendor management",
    "it_run": "IT run cost",
    "coordination": "Coordination",
    "annualised_one_time": "One-time costs (annualised)",
    "risk_term": "Risk (weighted)",
}


def _breakdown_value(breakdown: pl.DataFrame | None, component: str) -> float | None:
    """One figure of `cost_breakdown.csv` (plan column), so the report and the CSV agree."""
    if breakdown is None:
        return None
    row = breakdown.filter(pl.col("component") == component)
    return None if row.is_empty() else row["plan"][0]


def optimization_report_parts(
    instance: Instance,
    *,
    result: SolveResult,
    evaluation: Evaluation | None,
    explanation: Explanation | None,
    tables: dict[str, pl.DataFrame],
    analyses: dict[str, Any],
) -> dict[str, Any]:
    """The report's plan sections: headline figures, waterfall, tables, tornado, Pareto."""
    currency = instance.study.currency
    parts: dict[str, Any] = {"currency": currency}
    if explanation is not None:
        parts["infeasibility"] = tuple(explanation.lines)
    if evaluation is None:
        parts["notes"] = (f"Solver status: {result.status}.",)
        return parts
    before = evaluate(instance, status_quo(instance))
    saving = (before.total_cents - evaluation.total_cents) / 100
    share = saving / (before.total_cents / 100) if before.total_cents else 0.0
    moved = sum(1 for p in evaluation.per_process if p.option != IN_HOUSE)
    one_time = evaluation.one_time_cash_cents / 100
    payback = _breakdown_value(tables.get("cost_breakdown"), "payback_years")
    parts["headline"] = (
        ("Annual saving", money(saving, currency), f"{share:.1%} of the status quo"),
        (
            "Annual cost of the plan",
            money(evaluation.total_cents / 100, currency),
            f"status quo {money(before.total_cents / 100, currency)}",
        ),
        (
            "Processes outsourced",
            f"{moved} of {len(evaluation.per_process)}",
            f"{len(evaluation.per_provider)} provider(s) contracted",
        ),
        (
            "One-time cash",
            money(one_time, currency),
            f"payback {payback:.1f} years" if payback is not None else "no payback needed",
        ),
    )
    parts["status_quo_total"] = before.total_cents / 100
    parts["waterfall"] = tuple(
        (_COMPONENT_LABELS.get(name, name), (evaluation.components.get(name, 0) - cents) / 100)
        for name, cents in before.components.items()
    )
    parts["base_saving"] = saving
    parts["plan"] = tables.get("sourcing_plan")
    parts["systems"] = tables.get("systems_plan")
    parts["providers"] = tables.get("providers")
    parts["tornado"] = tornado_bars(analyses.get("sensitivity"))
    parts["pareto"] = pareto_points(analyses.get("pareto_front"), result.plan)
    gap = f", gap {result.gap:.2%}" if result.gap else ""
    parts["notes"] = (
        f"Solver: {result.status}{gap}, {result.seconds:.1f} s, "
        f"{result.size.variables:,} variables; every total re-priced by the evaluator.",
    )
    return parts


def tornado_bars(rows: Sequence[SensitivityRow] | None) -> tuple[TornadoBar, ...]:
    """Tornado bars from the sensitivity rows (ranges with an infeasible end are left out)."""
    bars = []
    for row in rows or ():
        if row.saving_low_cents is None or row.saving_high_cents is None:
            continue
        bars.append(
            TornadoBar(
                parameter=_parameter_label(row),
                low=row.saving_low_cents / 100,
                high=row.saving_high_cents / 100,
                flips=row.decision_flips_low or row.decision_flips_high,
            )
        )
    return tuple(bars)


def _parameter_label(row: SensitivityRow) -> str:
    name = row.parameter.replace("_", " ").replace(":", ": ")
    name = name[:1].upper() + name[1:]
    return f"{name} ({row.low_value:g} – {row.high_value:g})"


def pareto_points(
    points: Sequence[AnalysisPareto] | None, plan: Plan | None
) -> tuple[ParetoPoint, ...]:
    """Chart points of the cost-versus-risk frontier; the optimal plan's point is marked."""
    out = []
    for point in points or ():
        same = plan is not None and point.plan.assignment == plan.assignment
        label = ", ".join(
            f"{p}→{o}" for p, o in sorted(point.plan.assignment.items()) if o != IN_HOUSE
        )
        out.append(
            ParetoPoint(
                cost=point.cost_cents / 100,
                risk=point.risk_cents / 100,
                label=label or "all in-house",
                chosen=same,
            )
        )
    return tuple(out)
