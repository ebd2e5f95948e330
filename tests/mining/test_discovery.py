import polars as pl
import pytest

from mining.candidates import DROPPED, MIN_FITNESS, NAMES, NOT_COMPUTED
from mining.discovery import CANDIDATE_COLUMNS, discover_process
from mining.kpis import MiningConfig
from pipelines.demo import generate
from tests.mining.conftest import PM4PY_KEYS, to_pm4py
from tests.mining.helpers import make_log

pm4py = pytest.importorskip("pm4py")


def _read_back(result):
    net, im, fm = pm4py.read_pnml(str(result.pnml))
    bpmn = pm4py.read_bpmn(str(result.bpmn))
    return net, im, fm, bpmn


def _equal_to_pm4py(result, log):
    """The written model's fitness and precision are pm4py's on the full log."""
    net, im, fm, bpmn = _read_back(result)
    full = to_pm4py(log)
    theirs = pm4py.fitness_token_based_replay(full, net, im, fm, **PM4PY_KEYS)
    assert result.fitness == pytest.approx(theirs["log_fitness"], abs=1e-9)
    assert result.precision == pytest.approx(
        pm4py.precision_token_based_replay(full, net, im, fm, **PM4PY_KEYS), abs=1e-9
    )
    return net, bpmn


@pytest.mark.parametrize("name", ["repair_example.xes.gz", "teleclaims.xes.gz"])
def test_chosen_model_is_the_best_candidate_and_its_quality_is_pm4pys(real_log, name, tmp_path):
    log = real_log(name)
    result = discover_process(log, "proc", tmp_path, MiningConfig())
    table = pl.read_csv(result.candidates)
    assert table.columns == list(CANDIDATE_COLUMNS)
    assert table["candidate"].to_list() == list(NAMES)
    ok = table.filter(pl.col("status") == "ok")
    chosen = table.filter("chosen")
    assert chosen.height == 1 and chosen["candidate"].item() == result.model
    assert chosen["fitness"].item() >= MIN_FITNESS
    best_f = ok.filter(pl.col("fitness") >= MIN_FITNESS)["f_score"].max()
    assert chosen["f_score"].item() == best_f == pytest.approx(result.f_score, abs=1e-3)
    f = 2 * result.fitness * result.precision / (result.fitness + result.precision)
    assert result.f_score == pytest.approx(f, abs=1e-12)
    counts = pm4py.get_variants(to_pm4py(log), **PM4PY_KEYS)
    assert result.variants_total == len(counts)
    net, bpmn = _equal_to_pm4py(result, log)
    labels = {t.label for t in net.transitions if t.label is not None}
    tasks = {n.get_name() for n in bpmn.get_nodes() if type(n).__name__ == "Task"}
    assert tasks == labels


@pytest.mark.slow
def test_chosen_model_beats_pm4pys_inductive_miner_on_receipt(real_log, tmp_path):
    log = real_log("receipt.xes.gz")
    result = discover_process(log, "receipt", tmp_path, MiningConfig())
    _equal_to_pm4py(result, log)
    full = to_pm4py(log)
    net, im, fm = pm4py.discover_petri_net_inductive(full, **PM4PY_KEYS)
    fit = pm4py.fitness_token_based_replay(full, net, im, fm, **PM4PY_KEYS)["log_fitness"]
    prec = pm4py.precision_token_based_replay(full, net, im, fm, **PM4PY_KEYS)
    assert result.f_score > 2 * fit * prec / (fit + prec) + 0.3  # 0.92 against 0.28


@pytest.mark.parametrize("name", ["running-example.xes", "roadtraffic100traces.xes"])
def test_models_read_back_and_files_named(real_log, name, tmp_path):
    log = real_log(name)
    result = discover_process(log, "Order/Cash 'EU'", tmp_path)
    assert result.pnml.name == "Order_Cash__EU_.pnml"
    assert result.bpmn.name == "Order_Cash__EU_.bpmn"
    assert result.svg.name == "Order_Cash__EU__map.svg"
    assert result.png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert result.candidates.name == "Order_Cash__EU__candidates.csv"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        p.name for p in (result.pnml, result.bpmn, result.svg, result.png, result.candidates)
    )
    _, bpmn = _equal_to_pm4py(result, log)
    assert bpmn.get_nodes()


def _variant_log(counts: list[int]) -> pl.DataFrame:
    """Variants ⟨A,B⟩, ⟨A,C⟩, ⟨A,D⟩, ⟨A,E⟩ with the given numbers of cases."""
    rows = []
    for v, n in enumerate(counts):
        for k in range(n):
            case = f"v{v}c{k}"
            rows.append(dict(case=case, act="A", ts="2024-01-01 09:00"))
            rows.append(dict(case=case, act="BCDE"[v], ts="2024-01-01 10:00"))
    return make_log(rows)


def test_coverage_candidates_see_the_variants_covering_their_share(tmp_path):
    log = _variant_log([50, 30, 15, 5])
    result = discover_process(log, "P", tmp_path, MiningConfig(model="im_95"))
    assert (result.model, result.variants_total, result.variants_used) == ("im_95", 4, 3)
    assert result.cases_kept_share == 0.95
    net, *_ = _read_back(result)
    assert {t.label for t in net.transitions if t.label} == {"A", "B", "C", "D"}
    # the dropped variant ⟨A,E⟩ (5 %) does not replay: fitness below 1, weighted by count
    assert result.fitness < 1.0
    _equal_to_pm4py(result, log)
    table = pl.read_csv(result.candidates)
    assert table.filter(pl.col("candidate") != "im_95")["status"].to_list() == [
        "skipped: mining.model is im_95"
    ] * (len(NAMES) - 1)
    everything = discover_process(log, "P", tmp_path / "all", MiningConfig(model="im"))
    assert (everything.variants_used, everything.cases_kept_share) == (4, 1.0)
    assert everything.fitness == 1.0


def test_a_tiny_budget_leaves_no_model_but_the_map_and_a_warning(tmp_path):
    log = _variant_log([50, 30, 15, 5])
    result = discover_process(log, "P", tmp_path, MiningConfig(discovery_seconds=1e-6))
    assert result.model == NOT_COMPUTED == "not computed (time budget)"
    assert (result.pnml, result.bpmn, result.fitness, result.precision) == (None,) * 4
    assert result.svg.is_file() and result.png.is_file()
    table = pl.read_csv(result.candidates)
    statuses = table["status"].to_list()
    assert all(s == DROPPED or s.startswith("skipped: same variants as") for s in statuses)
    assert not table["chosen"].any()
    dropped = table.filter(pl.col("status") == DROPPED)["candidate"].to_list()
    assert result.warnings == (
        f"process 'P': model candidates {', '.join(dropped)} dropped: not finished within "
        "mining.discovery_seconds = 1e-06 s; model not computed (time budget) (raise "
        "mining.discovery_seconds in the cost file, or force a candidate with mining.model)",
    )
    assert not (tmp_path / "P.pnml").exists()


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
from tests.mining.helpers import make_log
rows = []
for v in range(30):
    for k, act in enumerate(["A", f"B{v}", "C"]):
        rows.append(dict(case=f"c{v}", act=act, ts=f"2024-01-01 0{k + 1}:00"))
result = d.discover_process(make_log(rows), "P", pathlib.Path(tempfile.mkdtemp()))
if sys.argv[1] == "bars":  # the control: pm4py's own replay would draw a bar once switched on
    from mining.pm4py_api import load
    from tests.mining.conftest import to_pm4py
    pm = load()
    pm.constants.SHOW_PROGRESS_BAR = True
    net, im, fm = pm.pm4py.read_pnml(str(result.pnml))
    pm.pm4py.fitness_token_based_replay(to_pm4py(make_log(rows)), net, im, fm)
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


def test_demo_process_model_beats_pm4pys_inductive_miner(tmp_path):
    log = generate(2000, seed=7).log.filter(pl.col("process") == "claims_handling")
    result = discover_process(log, "claims", tmp_path, MiningConfig())
    net, bpmn = _equal_to_pm4py(result, log)
    full = to_pm4py(log)
    ref = pm4py.discover_petri_net_inductive(full, **PM4PY_KEYS)
    fit = pm4py.fitness_token_based_replay(full, *ref, **PM4PY_KEYS)["log_fitness"]
    prec = pm4py.precision_token_based_replay(full, *ref, **PM4PY_KEYS)
    assert result.f_score >= 2 * fit * prec / (fit + prec)
    assert result.fitness >= MIN_FITNESS
    tasks = {n.get_name() for n in bpmn.get_nodes() if type(n).__name__ == "Task"}
    assert tasks == {t.label for t in net.transitions if t.label}
