import polars as pl
import pytest

from mining.discovery import discover_process
from mining.kpis import MiningConfig
from pipelines.demo import generate
from tests.mining.conftest import PM4PY_KEYS, to_pm4py
from tests.mining.helpers import make_log

pm4py = pytest.importorskip("pm4py")


def _read_back(result):
    net, im, fm = pm4py.read_pnml(str(result.pnml))
    bpmn = pm4py.read_bpmn(str(result.bpmn))
    return net, im, fm, bpmn


@pytest.mark.parametrize("name", ["repair_example.xes.gz", "teleclaims.xes.gz"])
def test_fitness_and_precision_equal_pm4py_on_full_log(real_log, name, tmp_path):
    log = real_log(name)
    result = discover_process(log, "proc", tmp_path, MiningConfig())
    assert result.fitness >= 0.95
    assert 0.0 < result.precision <= 1.0
    full = to_pm4py(log)
    # the noise filter, recomputed from pm4py's variant counts
    counts = sorted(pm4py.get_variants(full, **PM4PY_KEYS).values(), reverse=True)
    covered, used = 0, 0
    while covered < 0.95 * sum(counts):
        covered += counts[used]
        used += 1
    assert (result.variants_total, result.variants_used) == (len(counts), used)
    assert result.cases_kept_share == covered / sum(counts)
    assert result.cases_kept_share >= 0.95
    net, im, fm, bpmn = _read_back(result)
    theirs = pm4py.fitness_token_based_replay(full, net, im, fm, **PM4PY_KEYS)
    assert result.fitness == pytest.approx(theirs["log_fitness"], abs=1e-12)
    assert result.precision == pytest.approx(
        pm4py.precision_token_based_replay(full, net, im, fm, **PM4PY_KEYS), abs=1e-12
    )
    labels = {t.label for t in net.transitions if t.label is not None}
    assert labels == set(log["activity"].unique().to_list())  # no activity only in rare variants
    tasks = {n.get_name() for n in bpmn.get_nodes() if type(n).__name__ == "Task"}
    assert tasks == labels


@pytest.mark.slow
def test_filtered_model_quality_equals_pm4py_on_receipt(real_log, tmp_path):
    log = real_log("receipt.xes.gz")
    result = discover_process(log, "receipt", tmp_path, MiningConfig())
    assert result.variants_used < result.variants_total  # the noise filter did cut
    net, im, fm, _ = _read_back(result)
    full = to_pm4py(log)
    theirs = pm4py.fitness_token_based_replay(full, net, im, fm, **PM4PY_KEYS)
    assert result.fitness == pytest.approx(theirs["log_fitness"], abs=1e-12)
    assert result.precision == pytest.approx(
        pm4py.precision_token_based_replay(full, net, im, fm, **PM4PY_KEYS), abs=1e-12
    )


@pytest.mark.parametrize("name", ["running-example.xes", "roadtraffic100traces.xes"])
def test_models_read_back_and_files_named(real_log, name, tmp_path):
    log = real_log(name)
    result = discover_process(log, "Order/Cash 'EU'", tmp_path)
    assert result.pnml.name == "Order_Cash__EU_.pnml"
    assert result.bpmn.name == "Order_Cash__EU_.bpmn"
    assert result.svg.name == "Order_Cash__EU__map.svg"
    assert result.png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        p.name for p in (result.pnml, result.bpmn, result.svg, result.png)
    )
    net, im, fm, bpmn = _read_back(result)
    assert len(im) == 1 and len(fm) == 1
    assert bpmn.get_nodes()
    full = to_pm4py(log)
    theirs = pm4py.fitness_token_based_replay(full, net, im, fm, **PM4PY_KEYS)
    assert result.fitness == pytest.approx(theirs["log_fitness"], abs=1e-12)
    assert result.precision == pytest.approx(
        pm4py.precision_token_based_replay(full, net, im, fm, **PM4PY_KEYS), abs=1e-12
    )


def _variant_log(counts: list[int]) -> pl.DataFrame:
    """Variants ⟨A,B⟩, ⟨A,C⟩, ⟨A,D⟩, ⟨A,E⟩ with the given numbers of cases."""
    rows = []
    for v, n in enumerate(counts):
        for k in range(n):
            case = f"v{v}c{k}"
            rows.append(dict(case=case, act="A", ts="2024-01-01 09:00"))
            rows.append(dict(case=case, act="BCDE"[v], ts="2024-01-01 10:00"))
    return make_log(rows)


def test_noise_threshold_keeps_variants_covering_95_percent(tmp_path):
    log = _variant_log([50, 30, 15, 5])
    result = discover_process(log, "P", tmp_path)
    assert (result.variants_total, result.variants_used) == (4, 3)
    assert result.cases_kept_share == 0.95
    net, *_ = _read_back(result)
    assert {t.label for t in net.transitions if t.label} == {"A", "B", "C", "D"}
    # the dropped variant ⟨A,E⟩ (5 %) does not replay: fitness below 1, weighted by count
    assert result.fitness < 1.0
    everything = discover_process(log, "P", tmp_path / "all", MiningConfig(noise_threshold=0.0))
    assert (everything.variants_used, everything.cases_kept_share) == (4, 1.0)
    assert everything.fitness == 1.0


def test_edge_cases_one_case_one_event_quotes_and_commas(tmp_path):
    one_event = make_log([dict(case="x", act='Prüfung "A", final', ts="2024-01-01 09:00")])
    result = discover_process(one_event, 'Prüfung "A"', tmp_path)
    assert result.pnml.name == "Prüfung__A_.pnml"
    assert (result.fitness, result.variants_total, result.variants_used) == (1.0, 1, 1)
    assert result.precision == 1.0
    net, *_ = _read_back(result)
    assert [t.label for t in net.transitions if t.label] == ['Prüfung "A", final']
    svg = result.svg.read_text(encoding="utf-8")
    assert "Prüfung &quot;A&quot;, final" in svg

    one_case = make_log(
        [
            dict(case="c", act="Ä", ts="2024-01-01 09:00"),
            dict(case="c", act="B,C", ts="2024-01-01 10:00"),
            dict(case="c", act="Ä", ts="2024-01-01 11:00"),
        ]
    )
    result = discover_process(one_case, "one", tmp_path)
    assert result.fitness == 1.0 and result.precision == 1.0


def test_empty_process_is_input_error(tmp_path):
    from pipelines.errors import InputError

    with pytest.raises(InputError, match="'P' has no events"):
        discover_process(make_log([]), "P", tmp_path)


_QUIET_SCRIPT = """
import sys, tempfile, pathlib
import mining.discovery as d
if sys.argv[1] == "bars":
    from mining.pm4py_api import load
    load().constants.SHOW_PROGRESS_BAR = True
from tests.mining.helpers import make_log
rows = []
for v in range(30):
    for k, act in enumerate(["A", f"B{v}", "C"]):
        rows.append(dict(case=f"c{v}", act=act, ts=f"2024-01-01 0{k + 1}:00"))
d.discover_process(make_log(rows), "P", pathlib.Path(tempfile.mkdtemp()))
"""


@pytest.mark.slow  # two fresh interpreters importing pm4py
def test_no_banner_and_no_progress_bars_reach_the_terminal():
    import subprocess
    import sys

    def run(mode):
        done = subprocess.run(
            [sys.executable, "-c", _QUIET_SCRIPT, mode], capture_output=True, text=True, check=True
        )
        return done.stdout + done.stderr

    assert run("quiet") == ""
    assert "replaying log with TBR" in run("bars")  # the control: pm4py's bars would show


def test_unfiltered_model_replaces_the_filtered_one_when_more_precise(tmp_path):
    log = generate(2000, seed=7).log.filter(pl.col("process") == "claims_handling")
    full = to_pm4py(log)
    counts = sorted(pm4py.get_variants(full, **PM4PY_KEYS).values(), reverse=True)
    covered = [sum(counts[: i + 1]) for i in range(len(counts))]
    filtered = next(i + 1 for i, c in enumerate(covered) if c >= 0.95 * sum(counts))
    assert filtered < len(counts)  # the noise filter cuts here …
    result = discover_process(log, "claims", tmp_path, MiningConfig())
    # … but plain IM on every variant is more precise, so that model is the one written.
    assert (result.variants_used, result.cases_kept_share) == (len(counts), 1.0)
    net, im, fm, bpmn = _read_back(result)
    theirs = pm4py.fitness_token_based_replay(full, net, im, fm, **PM4PY_KEYS)
    assert result.fitness == theirs["log_fitness"] == 1.0
    assert result.precision == pytest.approx(
        pm4py.precision_token_based_replay(full, net, im, fm, **PM4PY_KEYS), abs=1e-12
    )
    tasks = {n.get_name() for n in bpmn.get_nodes() if type(n).__name__ == "Task"}
    assert tasks == set(log["activity"].unique().to_list())
