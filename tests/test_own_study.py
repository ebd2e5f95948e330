"""The README's "own study" commands, run as written; and the same path on a real public log."""

import csv
import re
import shlex
import time
from pathlib import Path

import polars as pl
import pytest
import yaml

from tests.robustness.conftest import ROOT, bpo

DATA = ROOT / "tests" / "data"
FILL_LINE = "# fill in every TODO"


def own_study_block() -> list[str]:
    """The lines of the README's first `sh` block under "Your own study"."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### Your own study") :]
    match = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert match is not None
    return [line for line in match.group(1).splitlines() if line.strip()]


def fill_todos(costs: Path, exclude: list[str] | None = None) -> None:
    """What the user does: a rate for every role, a run cost for every system, the provider."""
    text = costs.read_text(encoding="utf-8")
    text = text.replace("cost_per_hour: TODO", "cost_per_hour: 45")
    text = text.replace("run_cost_per_year: TODO", "run_cost_per_year: 20000")
    text = text.replace("location: TODO", "location: DE")
    text = text.replace("management_cost_per_year: TODO", "management_cost_per_year: 2000")
    if exclude:
        text = text.replace("exclude_resources: []", f"exclude_resources: [{', '.join(exclude)}]")
    assert "TODO" not in re.sub(r"#.*", "", text)
    costs.write_text(text, encoding="utf-8")


def fill_prices(sheet: Path, share: float) -> list[dict[str, str]]:
    """What the providers do: a price per case at `share` of the in-house labour per case."""
    with sheet.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        hours = float(row["handling_hours_per_case"] or 0)
        row["price_per_case"] = f"{hours * 45 * share:.2f}"
        row["transition_cost"] = "500"
    with sheet.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return rows


def _done_seconds(stdout: str) -> float:
    match = re.search(r"done in ([0-9.]+) s", stdout)
    assert match is not None, stdout
    return float(match.group(1))


@pytest.mark.slow  # four pipeline commands in subprocesses: ~60 s
def test_the_readme_own_study_commands_work_as_written(tmp_path: Path) -> None:
    lines = own_study_block()
    assert any(line.startswith(FILL_LINE) for line in lines)
    home = tmp_path / "dagster_home"
    study = tmp_path / "my_study" / "study"
    for line in lines:
        if line.startswith("#"):
            assert line.startswith(FILL_LINE), line
            todos = (study / "costs.yaml").read_text(encoding="utf-8").count(": TODO")
            before = bpo("validate", "--costs", study / "costs.yaml", home=home, cwd=tmp_path)
            assert before.returncode == 2
            listed = [x for x in before.stderr.splitlines() if "still TODO" in x]
            assert len(listed) == todos > 0
            fill_todos(study / "costs.yaml")
            fill_prices(study / "offers.csv", 0.5)
            continue
        argv = shlex.split(line, comments=True)
        assert argv[0] == ".venv/bin/bpo", line
        started = time.perf_counter()
        done = bpo(*argv[1:], home=home, cwd=tmp_path)
        elapsed = time.perf_counter() - started
        assert done.returncode == 0, f"{line}\n{done.stderr}"
        if "done in" in done.stdout:  # the command's whole wall time, start-up included
            assert 0.8 * elapsed <= _done_seconds(done.stdout) <= elapsed  # was 7 s of 20 short
    results = tmp_path / "my_study" / "results"
    plan = pl.read_csv(results / "sourcing_plan.csv")
    assert plan.height == 9
    assert set(plan["decision"]) == {"provider_1"}  # every offer at half the labour cost wins
    for name in ("kpi_history.csv", "drift.csv", "inputs.json", "report.html"):
        assert (results / name).is_file(), name


@pytest.mark.slow  # mine and run in subprocesses on a public log: ~40 s
def test_a_study_from_scratch_on_a_real_log(tmp_path: Path) -> None:
    log = DATA / "receipt.xes.gz"
    home = tmp_path / "dagster_home"
    mined = tmp_path / "mined"
    costs, sheet = tmp_path / "study" / "costs.yaml", tmp_path / "study" / "offers.csv"
    assert bpo("mine", "--log", log, "--out", mined, home=home, cwd=tmp_path).returncode == 0
    init = bpo("costs", "init", "--mined", mined, "--out", costs, home=home, cwd=tmp_path)
    assert init.returncode == 0, init.stderr
    again = bpo("costs", "init", "--mined", mined, "--out", costs, home=home, cwd=tmp_path)
    assert again.returncode == 2
    assert "already exists" in again.stderr
    skeleton = yaml.safe_load(costs.read_text(encoding="utf-8"))
    kpis = pl.read_csv(mined / "process_kpis.csv")
    assert [p["id"] for p in skeleton["processes"]] == kpis["process"].to_list()
    template = bpo("offers", "template", "--costs", costs, "--mined", mined, "--out", sheet,
                   home=home, cwd=tmp_path)  # fmt: skip
    assert template.returncode == 0, template.stderr
    with sheet.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["process"], r["provider"]) for r in rows] == [
        (p, "provider_1") for p in kpis["process"]
    ]
    assert float(rows[0]["cases_per_year"]) == round(kpis["cases_per_year"][0])
    resources = pl.read_parquet(mined / "normalized_log.parquet")["resource"].drop_nulls()
    top = resources.value_counts(sort=True)["resource"][0]
    fill_todos(costs, exclude=[top])
    fill_prices(sheet, 0.01)
    done = bpo("run", "--log", log, "--costs", costs, "--out", tmp_path / "results",
               home=home, cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    excluded = int((resources == top).sum())
    assert f"excluded {excluded:,} events by {top} (mining.exclude_resources)" in done.stderr
    plan = pl.read_csv(tmp_path / "results" / "sourcing_plan.csv")
    assert plan["decision"].to_list() == ["provider_1"] * plan.height


@pytest.mark.slow  # a subprocess per case, each stopping before Dagster is imported
def test_every_input_is_checked_before_any_work(tmp_path: Path) -> None:
    home = tmp_path / "dagster_home"
    gz = tmp_path / "costs.yaml.gz"
    gz.write_bytes(__import__("gzip").compress(b"schema_version: 1\n"))
    done = bpo("run", "--log", "missing.xes.gz", "--costs", "missing.yaml", home=home,
               cwd=tmp_path)  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.splitlines()[:2] == [
        "error: missing.yaml: file not found; check the --costs path",
        "error: missing.xes.gz: cannot read the file: no such file",
    ]
    assert "running the pipeline" not in done.stderr
    big = DATA / "bpic2013_closed.xes.gz"
    started = time.perf_counter()
    done = bpo("mine", "--log", big, "--costs", gz, home=home, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.splitlines()[0] == (
        f"error: {gz}: is gzip-compressed, not YAML text; unpack it (gunzip) and give the "
        "file inside"
    )
    assert "running the pipeline" not in done.stderr
    assert time.perf_counter() - started < 5
    bad = DATA / "costs" / "bad" / "negative_price.yaml"
    done = bpo("optimize", "--mined", "nowhere", "--costs", bad, home=home, cwd=tmp_path)
    assert done.returncode == 2
    assert [x.split(":")[1] for x in done.stderr.splitlines()[:2]] == [
        f" {bad}",
        " nowhere",
    ]
