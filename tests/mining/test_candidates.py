"""Planning, choosing and time-bounding the model candidates of a process."""

import os
import time

import pytest

from mining import candidates as C
from mining.candidates import (
    CANDIDATES,
    DROPPED,
    PLAIN_IM_MAX_VARIANTS,
    Candidate,
    Outcome,
    choose,
    kept_variants,
    plan,
)

VARIANTS = [(("a", "b"), 50), (("a", "c"), 30), (("a", "d"), 15), (("a", "e"), 5)]


def test_kept_variants_cover_their_share_of_the_cases():
    assert [kept_variants(VARIANTS, s) for s in (0.5, 0.8, 0.9, 0.95, 0.96, 1.0)] == [
        1,
        2,
        3,
        3,
        4,
        4,
    ]


def test_plan_skips_duplicates_and_plain_im_on_many_variants():
    reasons = {c.name: (n, r) for c, n, r in plan(VARIANTS)}
    assert reasons["im_90"] == (3, None)
    assert reasons["im_95"] == (3, "skipped: same variants as im_90")
    assert reasons["imf_0.2"] == (4, None)  # IMf weighs frequencies: never a duplicate
    many = [((f"x{i}",), 1) for i in range(PLAIN_IM_MAX_VARIANTS + 1)]
    reasons = {c.name: r for c, _, r in plan(many)}
    assert reasons["im"].startswith("skipped: plain IM on 501 variants")
    assert reasons["imf_0.4"] is None and reasons["imd"] is None
    forced = {c.name: r for c, _, r in plan(many, forced="im")}
    assert forced["im"] is None
    assert forced["imd"] == "skipped: mining.model is im"


def _ok(name, fitness, precision, nodes):
    candidate = next(c for c in CANDIDATES if c.name == name)
    return Outcome(candidate, "ok", fitness=fitness, precision=precision, nodes=nodes)


def test_choose_best_f_score_among_fitting_models_ties_to_the_smaller():
    outcomes = [
        _ok("imd", 1.0, 0.2, 10),  # F 0.333
        _ok("imf_0.8", 0.7, 0.9, 12),  # F 0.788 but fitness below 0.8
        _ok("imf_0.4", 0.9, 0.5, 30),  # F 0.643
        _ok("im_80", 0.5 / 0.7 * 0.9, 0.5, 20),  # F 0.643 too: fitness 0.643 < 0.8
        _ok("im", 0.9, 0.5, 25),  # F 0.643, fewer nodes than imf_0.4
        Outcome(CANDIDATES[1], DROPPED),
    ]
    assert choose(outcomes).candidate.name == "im"
    assert choose([outcomes[1]]).candidate.name == "imf_0.8"  # none fits: best F of all
    assert choose([outcomes[-1]]) is None
    assert Outcome(CANDIDATES[0], "ok", fitness=0.0, precision=0.0).f_score == 0.0


def _sleeper(seconds):
    def task():
        time.sleep(seconds)
        return Outcome(Candidate("slow", "IM"), "ok", fitness=1.0, precision=1.0, nodes=1)

    return task


def _pids_of_children():
    out = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == os.getpid():
                out.add(int(entry))
    return out


def test_children_past_the_deadline_are_killed_and_reaped():
    before = _pids_of_children()
    started = time.monotonic()
    results = C._run_bounded(
        [(0, _sleeper(0.0)), (1, _sleeper(60)), (2, _sleeper(60)), (3, _sleeper(0.0))],
        deadline=time.monotonic() + 1.5,
        parallel=2,
    )
    assert time.monotonic() - started < 10  # not the 60 s the sleepers wanted
    assert results[0].status == "ok" and results[0].fitness == 1.0
    # lanes: 0 then 2, 1 then 3 — a lane sends each result at once, so 0 survives the kill
    assert results[1] == results[2] == results[3] == DROPPED
    assert _pids_of_children() == before  # no child left running, no zombie


def test_a_failing_candidate_is_reported_not_raised():
    def broken():
        raise ValueError("no cut found")

    results = C._run_bounded([(0, broken)], deadline=time.monotonic() + 30, parallel=1)
    assert results[0] == "failed: ValueError: no cut found"


def test_without_fork_candidates_run_inline_against_the_deadline(monkeypatch):
    monkeypatch.delattr(os, "fork")
    results = C._run_bounded(
        [(0, _sleeper(0.0)), (1, _sleeper(0.0))], deadline=time.monotonic() - 1, parallel=2
    )
    assert results == {0: DROPPED, 1: DROPPED}
    results = C._run_bounded([(0, _sleeper(0.0))], deadline=time.monotonic() + 30, parallel=2)
    assert results[0].status == "ok"


@pytest.mark.parametrize("name", [c.name for c in CANDIDATES])
def test_every_candidate_can_be_forced(name):
    outcomes = C.run(VARIANTS, 60.0, forced=name, parallel=1)
    ran = [o for o in outcomes if o.status == "ok"]
    assert [o.candidate.name for o in ran] == [name]
    net, im, fm = ran[0].petri_net()
    assert {t.label for t in net.transitions if t.label} <= {"a", "b", "c", "d", "e"}
    assert len(im) == len(fm) == 1


def test_a_model_from_a_child_comes_back_as_pnml():
    many = [((f"x{i}", "y"), 1) for i in range(C.INLINE_MAX_VARIANTS + 1)]
    (outcome,) = [o for o in C.run(many, 60.0, forced="imd", parallel=1) if o.status == "ok"]
    assert outcome.model is None and outcome.pnml.startswith("<?xml")
    net, _, _ = outcome.petri_net()
    assert {t.label for t in net.transitions if t.label} == {"y"} | {f"x{i}" for i in range(101)}


def test_a_candidate_pm4py_cannot_mine_is_failed_and_the_others_compete():
    variants = [(("c", "b", "a", "b", "c", "b", "a"), 1), (("b",), 1)]  # IMd: IndexError in pm4py
    outcomes = {o.candidate.name: o for o in C.run(variants, 60.0)}
    assert outcomes["imd"].status == "failed: IndexError: list index out of range"
    assert outcomes["im_80"].status == "ok" and outcomes["im_80"].fitness == 1.0  # both variants
    assert choose(outcomes.values()).status == "ok"
