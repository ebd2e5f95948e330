"""`bpo mine` on real logs of shapes companies export: thousands of variants, a time budget."""

from pathlib import Path

import polars as pl
import pytest

from mining.candidates import MIN_FITNESS, NAMES
from tests.robustness.conftest import bpo

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.mark.slow
def test_every_case_its_own_variant_gets_a_readable_model(tmp_path):
    out = tmp_path / "out"
    done = bpo(
        "mine", "--log", DATA / "billing_1t_per_variant.xes.gz", "--out", out,
        home=tmp_path / "home", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    kpis = pl.read_csv(out / "process_kpis.csv")
    row = kpis.row(0, named=True)
    assert row["variants"] == 1020
    assert row["model"] in NAMES and row["fitness"] >= MIN_FITNESS
    table = pl.read_csv(out / "models" / "billing_1t_per_variant_candidates.csv")
    chosen = table.filter("chosen")
    assert chosen["candidate"].item() == row["model"]
    assert chosen["f_score"].item() == pytest.approx(row["f_score"], abs=1e-9)
    # plain IM on 1,020 variants (pm4py's default: F-score 0.446 on this log) is not run
    assert table.filter(pl.col("candidate") == "im")["status"].item().startswith("skipped")
    assert row["f_score"] > 0.6
    assert (out / "models" / "billing_1t_per_variant.bpmn").is_file()


@pytest.mark.slow
def test_a_process_out_of_time_keeps_its_map_and_kpis(tmp_path):
    costs = tmp_path / "costs.yaml"
    costs.write_text("schema_version: 1\nmining:\n  discovery_seconds: 0.001\n", encoding="utf-8")
    out = tmp_path / "out"
    done = bpo(
        "mine", "--log", DATA / "billing_1t_per_variant.xes.gz", "--costs", costs, "--out", out,
        home=tmp_path / "home", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    warnings = [line for line in done.stderr.splitlines() if "discovery_seconds" in line]
    assert len(warnings) == 1
    assert warnings[0].startswith("warning: process 'billing_1t_per_variant': model candidates")
    row = pl.read_csv(out / "process_kpis.csv").row(0, named=True)
    assert row["model"] == "not computed (time budget)"
    assert row["fitness"] is None and row["cases"] == 1020 and row["variants"] == 1020
    models = out / "models"
    assert (models / "billing_1t_per_variant_map.svg").is_file()
    assert not (models / "billing_1t_per_variant.pnml").exists()
