"""The transition roadmap: when each process of the plan moves, and the landscape before/after."""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg
import polars as pl

from dagster_project.defs.common import input_errors_as_failure, try_load_costs
from dagster_project.defs.inputs import COST_FILE
from dagster_project.defs.landscape import (
    Landscape,
    landscape_metadata,
    png_markdown,
    render_landscape,
)
from dagster_project.defs.optimization import CostModel, SourcingPlan, solver_config
from dagster_project.defs.resources import BpoInputs, Progress, SolverSettings
from dagster_project.defs.tables import table_metadata
from dagster_project.report import money
from dagster_project.roadmap_report import RoadmapSection
from mining.maps import render
from mining.to_be import to_be_collaboration
from optimize.instance import IN_HOUSE
from optimize.plan_file import plan_from_file
from optimize.roadmap import (
    RoadmapConfig,
    RoadmapInstance,
    RoadmapResult,
    TransitionSettings,
    build_roadmap,
    solve_roadmap,
    transition_settings,
)
from optimize.roadmap_tables import figures, gantt_dot, quarter_label, roadmap_tables


@dataclass(frozen=True)
class Roadmap:
    """The roadmap of the plan (None parts when the plan moves nothing or has no plan).

    Attributes:
        instance: The scheduling instance.
        result: CP-SAT's answer (start quarters or the conflicting rules).
        tables: `roadmap`, `roadmap_summary`, `roadmap_cashflow` frames (empty when nothing
            moves).
        gantt_svg: The Gantt chart as SVG.
        landscape: The landscape before and after.
    """

    instance: RoadmapInstance | None = None
    result: RoadmapResult | None = None
    tables: dict[str, pl.DataFrame] = field(default_factory=dict)
    gantt_svg: str | None = None
    landscape: Landscape = field(default_factory=Landscape)

    @property
    def infeasible(self) -> bool:
        """Whether the scheduling rules cannot all hold."""
        return self.result is not None and self.result.status == "infeasible"


def _settings(cost_file: str | None) -> TransitionSettings:
    costs, _ = try_load_costs(cost_file)
    return TransitionSettings() if costs is None else transition_settings(costs)


@dg.asset(group_name="optimization", kinds={"ortools", "graphviz"}, deps=[COST_FILE])
def roadmap(  # noqa: PLR0917 (Dagster passes inputs by name)
    context: dg.AssetExecutionContext,
    cost_model: CostModel,
    sourcing_plan: SourcingPlan,
    inputs: BpoInputs,
    solver: SolverSettings,
    progress: Progress,
) -> dg.Output[Roadmap]:
    """When each outsourced process moves, quarter by quarter, at the least discounted cost.

    Transition capacity, FTE in transition, contract end dates and the yearly budget respected;
    with the Gantt chart, the payback quarter and the process landscape before and after.
    Implements the optimal plan, or the plan file of the `inputs` resource when one is set.
    """
    instance = cost_model.instance
    result = sourcing_plan.result
    if instance is None or not sourcing_plan.feasible or result.plan is None:
        return dg.Output(Roadmap(), metadata={"status": dg.MetadataValue.text("no plan")})
    plan = result.plan
    if inputs.plan_file:
        progress.step(context, f"reading the plan to implement from {inputs.plan_file}")
        with input_errors_as_failure("plan file"):
            plan = plan_from_file(inputs.plan_file, instance, solver_config(solver))
    landscape = render_landscape(instance, plan)
    metadata: dict[str, Any] = landscape_metadata(landscape)
    road = build_roadmap(instance, plan, _settings(cost_model.cost_file))
    if not road.moves:
        metadata["status"] = dg.MetadataValue.text("nothing moves")
        return dg.Output(Roadmap(road, None, landscape=landscape), metadata=metadata)
    progress.step(context, f"scheduling the moves of {len(road.moves)} process(es) (CP-SAT)")
    config = solver_config(solver)
    answer = solve_roadmap(
        road, RoadmapConfig(time_limit_s=config.time_limit_s, workers=config.workers)
    )
    tables = roadmap_tables(road, answer)
    metadata["status"] = dg.MetadataValue.text(answer.status)
    if answer.status == "infeasible":
        metadata["infeasibility"] = dg.MetadataValue.md(
            "\n".join(f"- {line}" for line in answer.explanation)
        )
        return dg.Output(Roadmap(road, answer, tables, landscape=landscape), metadata=metadata)
    f = figures(road, answer)
    gantt = gantt_dot(road, answer, f.payback_quarter)
    metadata |= {
        "gantt": dg.MetadataValue.md(png_markdown(render(gantt, "png"), "roadmap")),
        "roadmap_table": table_metadata(tables["roadmap"]),
        "solver_seconds": dg.MetadataValue.float(float(answer.seconds)),
    }
    if f.npv_cents is not None:
        metadata |= {
            "npv_cost": dg.MetadataValue.float(f.npv_cents / 100),
            "npv_status_quo": dg.MetadataValue.float(f.npv_status_quo_cents / 100),
            "npv_saving": dg.MetadataValue.float((f.npv_status_quo_cents - f.npv_cents) / 100),
        }
    if f.npv_unconstrained_cents is not None:
        metadata["npv_cost_unconstrained"] = dg.MetadataValue.float(f.npv_unconstrained_cents / 100)
    if f.payback_quarter is not None:
        metadata["payback_quarter"] = dg.MetadataValue.int(f.payback_quarter)
    svg = render(gantt, "svg").decode("utf-8")
    return dg.Output(Roadmap(road, answer, tables, svg, landscape), metadata=metadata)


def roadmap_files(values: dict[str, Any]) -> dict[str, str | bytes | pl.DataFrame]:
    """The results-folder files of the roadmap asset's value in `values` (none without it).

    The landscape (`models/landscape_{before,after}.{svg,png}`) whenever there is a plan; the
    three CSVs when the plan moves a process; `infeasibility.txt` when the roadmap is
    infeasible (and the sourcing model is not).
    """
    road: Roadmap | None = values.get("roadmap")
    if road is None:
        return {}
    files: dict[str, str | bytes | pl.DataFrame] = {
        f"models/{name}": content for name, content in road.landscape.files.items()
    }
    if road.instance is not None and road.instance.moves and road.result is not None:
        files |= {f"{name}.csv": frame for name, frame in road.tables.items()}
    plan: SourcingPlan | None = values.get("sourcing_plan")
    if road.result is not None and road.infeasible and (plan is None or plan.explanation is None):
        files["infeasibility.txt"] = road.result.text()
    return files | to_be_files(values)


def to_be_files(values: dict[str, Any]) -> dict[str, str | bytes | pl.DataFrame]:
    """`models/<process>_to_be.bpmn` for each outsourced process with a discovered model.

    The company's pool keeps one send task per process that hands cases over to the
    outsourced one and one receive task per process that takes them back (from
    `handovers.csv`; processes run by the same provider are not the company's).
    """
    model: CostModel | None = values.get("cost_model")
    plan: SourcingPlan | None = values.get("sourcing_plan")
    models = values.get("process_models")
    if model is None or plan is None or models is None or plan.result.plan is None:
        return {}
    assign = plan.result.plan.assignment
    handovers = values.get("handovers")
    files: dict[str, str | bytes | pl.DataFrame] = {}
    for found in models.results:
        p = found.process
        provider = assign.get(p, IN_HOUSE)
        if provider == IN_HOUSE or not Path(found.bpmn).is_file():
            continue
        into: list[tuple[str, float]] = []
        back: list[tuple[str, float]] = []
        if isinstance(handovers, pl.DataFrame):
            for row in handovers.iter_rows(named=True):
                a, b, n = row["from_process"], row["to_process"], row["handovers_per_year"]
                if b == p and a != p and assign.get(a, IN_HOUSE) != provider:
                    into.append((a, float(n)))
                if a == p and b != p and assign.get(b, IN_HOUSE) != provider:
                    back.append((b, float(n)))
        files[f"models/{p}_to_be.bpmn"] = to_be_collaboration(found.bpmn, p, provider, into, back)
    return files


def roadmap_section(values: dict[str, Any]) -> RoadmapSection | None:
    """The report's roadmap and landscape section from the roadmap asset's value."""
    road: Roadmap | None = values.get("roadmap")
    if road is None:
        return None
    before, after = road.landscape.svg("before"), road.landscape.svg("after")
    if road.instance is None or road.result is None:
        if before is None and after is None:
            return None
        return RoadmapSection(landscape_before_svg=before, landscape_after_svg=after)
    inst, result = road.instance, road.result
    cur = inst.currency
    if result.starts is None:
        return RoadmapSection(
            explanation=result.explanation
            or (f"no roadmap within the time limit (status {result.status})",),
            landscape_before_svg=before,
            landscape_after_svg=after,
        )
    f = figures(inst, result)
    cash = road.tables.get("roadmap_cashflow")
    cumulative: tuple[tuple[str, float], ...] = ()
    if cash is not None:
        cumulative = tuple(zip(cash["label"], cash["cumulative_saving"], strict=True))
    payback = "—" if f.payback_quarter is None else quarter_label(f.payback_quarter)
    unconstrained = f.npv_unconstrained_cents
    summary = (
        (
            "NPV saving of the roadmap",
            money((f.npv_status_quo_cents - (f.npv_cents or 0)) / 100, cur),
            f"discounted cost {money((f.npv_cents or 0) / 100, cur)} over {inst.quarters} quarters",
        ),
        (
            "Everything at once",
            "—" if unconstrained is None else money(unconstrained / 100, cur),
            "NPV of the cost with every move in quarter 1 and no capacity limit",
        ),
        (
            "Status quo",
            money(f.npv_status_quo_cents / 100, cur),
            "NPV of the cost if nothing moves",
        ),
        ("Payback", payback, "first quarter from which the cumulative saving stays ≥ 0"),
    )
    table = road.tables.get("roadmap")
    return RoadmapSection(
        gantt_svg=road.gantt_svg,
        cumulative=cumulative,
        payback_quarter=f.payback_quarter,
        summary=summary,
        table=None if table is None else table.drop("fte", "not_before", strict=False),
        landscape_before_svg=before,
        landscape_after_svg=after,
    )
