"""The demo company generator: determinism, size, schema, calendar, ground truth, cost file."""

import json
import math
import time
from pathlib import Path

import polars as pl
import pytest
import yaml

from pipelines import schema
from pipelines.demo import (
    LOG_NAMES,
    DemoCompany,
    cost_file,
    generate,
    write_sample,
)
from pipelines.demo_catalogue import BATCH, ROLES, ROOTS, SYSTEM
from pipelines.errors import InputError

CASES = 2_000
AUTOMATED = [BATCH, SYSTEM]

SYSTEMS_BY_PROCESS = {
    "accounts_payable": {"ERP", "OCR"},
    "accounts_receivable": {"ERP"},
    "procurement": {"ERP"},
    "payroll": {"HR"},
    "travel_expenses": {"HR"},
    "recruiting": {"HR"},
    "customer_service": {"TICKETING", "CRM"},
    "it_service_desk": {"TICKETING"},
    "claims_handling": {"CLAIMS"},
}


@pytest.fixture(scope="module")
def demo() -> DemoCompany:
    return generate(CASES, seed=7)


@pytest.fixture(scope="module")
def local(demo: DemoCompany) -> pl.DataFrame:
    """The log with Berlin wall-clock times and a `human` flag."""
    berlin = "Europe/Berlin"
    return demo.log.with_columns(
        pl.col("timestamp").dt.convert_time_zone(berlin).alias("done"),
        pl.col("start_timestamp").dt.convert_time_zone(berlin).alias("began"),
        (~pl.col("resource").is_in(AUTOMATED)).alias("human"),
    )


# ----------------------------------------------------------------- determinism


@pytest.mark.parametrize("fmt", ["xes", "csv", "parquet"])
def test_same_seed_same_bytes(tmp_path: Path, fmt: str) -> None:
    a = write_sample(tmp_path / "a", cases=CASES, seed=11, fmt=fmt)
    b = write_sample(tmp_path / "b", cases=CASES, seed=11, fmt=fmt)
    assert a.log.name == LOG_NAMES[fmt]
    for x, y in ((a.log, b.log), (a.costs, b.costs), (a.truth, b.truth)):
        assert x.read_bytes() == y.read_bytes(), x.name
    c = write_sample(tmp_path / "c", cases=CASES, seed=12, fmt=fmt)
    assert c.log.read_bytes() != a.log.read_bytes()


def test_gzip_header_has_no_time_or_name(tmp_path: Path) -> None:
    paths = write_sample(tmp_path, cases=CASES, seed=7, fmt="xes")
    head = paths.log.read_bytes()[:10]
    assert head[:2] == b"\x1f\x8b"
    assert head[3] == 0  # no FNAME flag: the folder does not leak into the bytes
    assert head[4:8] == b"\x00\x00\x00\x00"  # mtime 0


def test_generate_is_deterministic_in_memory() -> None:
    one, two = generate(300, seed=3), generate(300, seed=3)
    assert one.log.equals(two.log)
    assert one.truth == two.truth
    assert one.costs_yaml == two.costs_yaml


# ----------------------------------------------------------------- size and schema


def test_requested_number_of_root_cases(demo: DemoCompany) -> None:
    log = demo.log
    assert log[schema.CASE_ID].n_unique() == CASES
    assert demo.truth.cases == CASES
    assert demo.truth.events == log.height
    prefixes = log.select(pl.col("case_id").str.extract(r"^([A-Z]+)-").unique()).to_series()
    assert sorted(prefixes) == sorted(r.prefix for r in ROOTS)
    per_prefix = dict(
        log.group_by(pl.col("case_id").str.extract(r"^([A-Z]+)-").alias("p"))
        .agg(pl.col("case_id").n_unique())
        .iter_rows()
    )
    expected = {r.prefix: math.floor(r.share * CASES) for r in ROOTS}
    expected["INV"] += CASES - sum(expected.values())
    assert per_prefix == expected


def test_columns_dtypes_and_nulls(local: pl.DataFrame, demo: DemoCompany) -> None:
    log = demo.log
    assert tuple(log.columns[: len(schema.COLUMNS)]) == schema.COLUMNS
    assert {c: log.schema[c] for c in schema.COLUMNS} == schema.SCHEMA
    for c in (*schema.REQUIRED, schema.RESOURCE, schema.SYSTEM):
        assert log[c].null_count() == 0, c
    human, machine = local.filter("human"), local.filter(~pl.col("human"))
    assert human["start_timestamp"].null_count() == 0
    assert human["role"].null_count() == 0
    assert machine["start_timestamp"].null_count() == machine.height > 0
    assert machine["role"].null_count() == machine.height
    assert (human["timestamp"] > human["start_timestamp"]).all()


def test_log_sorted_and_times_strictly_increase_within_case(demo: DemoCompany) -> None:
    log = demo.log
    assert log.equals(log.sort(["case_id", "timestamp"], maintain_order=True))
    steps = log.with_columns(
        pl.col("timestamp").shift(1).over("case_id").alias("prev_done")
    ).drop_nulls("prev_done")
    assert (steps["timestamp"] > steps["prev_done"]).all()
    started = steps.drop_nulls("start_timestamp")
    assert (started["start_timestamp"] >= started["prev_done"]).all()


# ----------------------------------------------------------------- calendar


def test_human_work_on_weekdays_in_business_hours(local: pl.DataFrame) -> None:
    human = local.filter("human")
    assert (human["began"].dt.weekday() <= 5).all()
    assert (human["began"].dt.date() == human["done"].dt.date()).all()
    began = human["began"].dt.hour().cast(pl.Int32) * 60 + human["began"].dt.minute()
    done = human["done"]
    done_seconds = (
        done.dt.hour().cast(pl.Int32) * 3600
        + done.dt.minute().cast(pl.Int32) * 60
        + done.dt.second()
    )
    assert began.min() >= 8 * 60
    assert done_seconds.max() <= 17 * 3600
    # handling times are minutes to hours, never more than a working day
    hours = (human["timestamp"] - human["start_timestamp"]).dt.total_seconds() / 3600
    assert hours.min() >= 1 / 60
    assert hours.max() <= 8


def test_batch_runs_at_night_on_weekdays(local: pl.DataFrame) -> None:
    batch = local.filter(pl.col("resource") == BATCH)
    assert batch.height > 0
    assert (batch["done"].dt.weekday() <= 5).all()
    assert (batch["done"].dt.hour() == 22).all()


def test_whole_log_inside_the_observation_year(local: pl.DataFrame) -> None:
    assert local["done"].dt.year().unique().to_list() == [2025]
    assert local["began"].drop_nulls().dt.year().unique().to_list() == [2025]
    months = local["done"].dt.month().unique().sort().to_list()
    assert months == list(range(1, 13))


# ----------------------------------------------------------------- structure


def test_systems_per_process(demo: DemoCompany) -> None:
    mined = demo.log.group_by("process").agg(pl.col("system").unique())
    assert {p: set(s) for p, s in mined.iter_rows()} == SYSTEMS_BY_PROCESS
    for p in demo.truth.processes:
        assert {s for s, _ in p.systems} == SYSTEMS_BY_PROCESS[p.process]
    # OCR only in payables; every system above 1 % of its process's events (counts as used)
    for p in demo.truth.processes:
        assert all(n >= 0.01 * p.events for _, n in p.systems)


def test_handovers_between_processes(demo: DemoCompany) -> None:
    t = demo.truth
    assert (
        t.handover_count("procurement", "accounts_payable") > 0.6 * t.process("procurement").cases
    )
    escalated = t.handover_count("customer_service", "it_service_desk")
    assert escalated > 0
    assert t.handover_count("it_service_desk", "customer_service") == escalated
    pairs = {(h.from_process, h.to_process) for h in t.handovers}
    assert pairs == {
        ("procurement", "accounts_payable"),
        ("customer_service", "it_service_desk"),
        ("it_service_desk", "customer_service"),
    }


def test_volumes_differ_and_payables_is_largest(demo: DemoCompany) -> None:
    cases = {p.process: p.cases for p in demo.truth.processes}
    assert len(cases) == 9
    assert max(cases, key=cases.__getitem__) == "accounts_payable"
    assert len(set(cases.values())) == 9


def test_variants_and_rework(demo: DemoCompany) -> None:
    variants = (
        demo.log.group_by("case_id", "process", maintain_order=True)
        .agg(pl.col("activity").str.join(">"))
        .group_by("process")
        .agg(pl.col("activity").n_unique().alias("variants"))
    )
    assert (variants["variants"] >= 3).all()
    rework = (
        demo.log.filter(pl.col("process") == "accounts_payable")
        .group_by("case_id")
        .agg((pl.col("activity") == "Check Invoice").sum().alias("checks"))
    )
    share = (rework["checks"] >= 2).mean()
    assert 0.10 < share < 0.30  # designed: Correct Invoice → Check Invoice with p = 0.18


def test_roles_and_resources(demo: DemoCompany) -> None:
    people = demo.log.filter(~pl.col("resource").is_in(AUTOMATED))
    by_role = dict(people.group_by("role").agg(pl.col("resource").unique()).iter_rows())
    for role in ROLES:
        assert 3 <= len(role.resources) <= 12
        assert set(by_role[role.id]) == set(role.resources), role.id
    all_names = [n for r in ROLES for n in r.resources]
    assert len(all_names) == len(set(all_names))


# ----------------------------------------------------------------- ground truth


def test_truth_equals_what_a_miner_computes(demo: DemoCompany) -> None:
    log = demo.log.with_columns(
        (pl.col("timestamp") - pl.col("start_timestamp"))
        .dt.total_seconds()
        .fill_null(0)
        .alias("secs")
    )
    mined = log.group_by("process").agg(
        pl.col("case_id").n_unique().alias("cases"),
        pl.len().alias("events"),
        pl.col("start_timestamp").is_not_null().sum().alias("human_events"),
        pl.col("activity").n_unique().alias("activities"),
        pl.col("resource").filter(~pl.col("resource").is_in(AUTOMATED)).n_unique().alias("res"),
        pl.col("secs").sum().alias("secs"),
    )
    rates = {r.id: r.cost_per_hour for r in ROLES}
    cost = log.with_columns(pl.col("role").replace_strict(rates, default=0.0).alias("rate"))
    labour = dict(
        cost.group_by("process").agg((pl.col("secs") * pl.col("rate")).sum() / 3600).iter_rows()
    )
    for process, cases, events, human, acts, res, secs in mined.iter_rows():
        t = demo.truth.process(process)
        assert (t.cases, t.events, t.human_events) == (cases, events, human)
        assert (t.activities, t.resources) == (acts, res)
        assert t.cases_per_year == cases
        assert t.handling_hours_total == secs / 3600
        assert t.handling_hours_per_case == secs / 3600 / cases
        assert t.labour_cost_per_year == pytest.approx(labour[process], abs=0.01)
        assert t.core == (process == "claims_handling")

    ordered = log.sort("case_id", "timestamp", maintain_order=True).with_columns(
        pl.col("process").shift(-1).over("case_id").alias("next")
    )
    crossings = ordered.filter(pl.col("next").is_not_null() & (pl.col("next") != pl.col("process")))
    mined_handovers = {
        (a, b): n for a, b, n in crossings.group_by("process", "next").len().iter_rows()
    }
    truth_handovers = {(h.from_process, h.to_process): h.handovers for h in demo.truth.handovers}
    assert mined_handovers == truth_handovers


def test_truth_json_round_trip(demo: DemoCompany) -> None:
    data = json.loads(demo.truth.to_json())
    assert data["cases"] == CASES
    assert data["events"] == demo.log.height
    assert data["observation_start"] == "2025-01-01"
    assert len(data["processes"]) == 9
    ap = next(p for p in data["processes"] if p["process"] == "accounts_payable")
    assert set(ap["systems"]) == {"ERP", "OCR"}
    assert sum(ap["systems"].values()) == ap["events"]


# ----------------------------------------------------------------- cost file


def test_cost_file_parses_and_matches_the_log(demo: DemoCompany) -> None:
    costs = yaml.safe_load(demo.costs_yaml)
    assert costs == yaml.safe_load(yaml.safe_dump(cost_file(CASES)))
    assert costs["schema_version"] == 1
    assert costs["currency"] == "EUR"
    assert costs["mining"]["exclude_resources"] == ["BATCH", "SYSTEM"]
    assert costs["mining"]["timezone"] == "Europe/Berlin"

    providers = {p["id"]: p for p in costs["providers"]}
    assert len(providers) == 3
    assert sorted(p["location"] for p in providers.values()) == ["DE", "IN", "PL"]
    for p in providers.values():
        assert {"setup_cost", "management_cost_per_year", "capacity", "min_annual_value"} <= set(p)
        assert p["rebate_tiers"][0] == {"min_spend": 0, "rebate": 0.0}

    processes = {p["id"]: p for p in costs["processes"]}
    assert set(processes) == set(demo.log["process"].unique())
    assert [p for p, v in processes.items() if v["core"]] == ["claims_handling"]
    sensitive = costs["data_classes"]["personal_sensitive"]
    assert "IN" not in sensitive["allowed_locations"]
    assert {p for p, v in processes.items() if v.get("data_class") == "personal_sensitive"} == {
        "payroll",
        "recruiting",
    }

    systems = {s["id"]: s for s in costs["systems"]}
    assert set(systems) == set(demo.log["system"].unique())
    assert systems["ERP"]["policy"] == "not_movable"
    assert systems["ERP"]["retirable"] is False
    assert systems["HR"]["policy"] == "all_or_nothing"
    assert systems["OCR"]["retirable"] is True

    people = set(demo.log.filter(~pl.col("resource").is_in(AUTOMATED))["resource"])
    assert people == {r for role in costs["roles"] for r in role["resources"]}

    for offer in costs["offers"]:
        assert offer["process"] in processes
        assert offer["provider"] in providers
        assert set(offer["it"]) <= set(systems)
        assert set(offer["it"].values()) <= {"takeover", "own_platform", "access"}
        for system, mode in offer["it"].items():
            if mode == "takeover":
                assert system in providers[offer["provider"]]["system_takeover"]
    offered = {o["process"] for o in costs["offers"]}
    assert offered == set(processes)


def test_cost_file_scales_with_size() -> None:
    small, default = cost_file(3_000), cost_file(30_000)
    assert (
        small["systems"][0]["run_cost_per_year"] * 10 == default["systems"][0]["run_cost_per_year"]
    )
    assert small["offers"][0]["price_per_case"] == default["offers"][0]["price_per_case"]


EXPECTED_PLAN = {
    "accounts_payable": "offshore_in",
    "accounts_receivable": "in_house",
    "claims_handling": "in_house",
    "customer_service": "offshore_in",
    "it_service_desk": "offshore_in",
    "payroll": "shared_services_de",
    "procurement": "in_house",
    "recruiting": "shared_services_de",
    "travel_expenses": "shared_services_de",
}
EXPECTED_SYSTEMS = {
    "ERP": "keep",
    "CLAIMS": "keep",
    "CRM": "keep",
    "HR": "transfer:shared_services_de",
    "TICKETING": "transfer:offshore_in",
    "OCR": "retire",
}


def test_designed_plan_with_the_project_optimizer(tmp_path: Path, demo: DemoCompany) -> None:
    """The cost file's intent, checked with the real miner and CP-SAT model.

    Some processes go and some stay; the shared TICKETING system couples customer service with
    the IT service desk (the desk alone is cheaper in-house, and customer service cannot leave
    without it); the offshore provider's 5 % rebate tier is what makes that pair worth moving.
    """
    costfile = pytest.importorskip("optimize.costfile")
    build = pytest.importorskip("optimize.build")
    model = pytest.importorskip("optimize.model")
    kpis = pytest.importorskip("mining.kpis")
    from datetime import UTC, datetime

    year = (datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC))
    mined = kpis.compute_tables(demo.log, kpis.MiningConfig(observation_period=year))
    path = tmp_path / "costs.yaml"
    path.write_text(demo.costs_yaml, encoding="utf-8")

    def solve(text: str) -> tuple[dict[str, str], dict[str, str]]:
        path.write_text(text, encoding="utf-8")
        built = build.build_instance(costfile.load_costs(path), mined, source=str(path))
        result = model.solve(built.instance)
        assert result.status == "optimal"
        return result.plan.assignment, result.plan.systems

    assignment, systems = solve(demo.costs_yaml)
    assert assignment == EXPECTED_PLAN
    assert systems == EXPECTED_SYSTEMS

    costs = yaml.safe_load(demo.costs_yaml)
    offshore = next(p for p in costs["providers"] if p["id"] == "offshore_in")
    offshore["rebate_tiers"] = offshore["rebate_tiers"][:1]
    without_rebate, _ = solve(yaml.safe_dump(costs))
    assert without_rebate == EXPECTED_PLAN | {
        "customer_service": "in_house",
        "it_service_desk": "in_house",
    }


# ----------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"cases": 10}, r"error: --cases: must be a whole number of at least 100, got 10"),
        ({"seed": -1}, r"error: --seed: must be a whole number ≥ 0, got -1"),
        ({"fmt": "json"}, r"error: --format: must be one of xes, csv, parquet, got 'json'"),
    ],
)
def test_bad_arguments(tmp_path: Path, kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(InputError, match=message):
        write_sample(tmp_path, **kwargs)  # type: ignore[arg-type]
    assert not any(tmp_path.iterdir())


# ----------------------------------------------------------------- speed


def test_a_million_events_in_seconds() -> None:
    began = time.perf_counter()
    big = generate(160_000, seed=7)
    seconds = time.perf_counter() - began
    assert big.log.height > 1_000_000
    assert big.log["case_id"].n_unique() == 160_000
    assert seconds < 30
