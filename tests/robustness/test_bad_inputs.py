"""The bad-input catalogue (tests/data/bad, tests/data/costs/bad) through the real `bpo` command.

Every broken input ends with exit code 2, one `error: <file>[:<line>]: <what and how to fix>`
line per problem, no traceback, and an output folder holding earlier results left
byte-for-byte as it was. Suspicious but usable data (duplicates, far-away timestamps) is a
warning and a `data_quality.csv` row, and the run succeeds.
"""

import json
import re
import resource
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from bpo.cli import main
from pipelines.demo import SamplePaths
from pipelines.read import LogOptions, read_log
from tests.robustness.conftest import BAD, BAD_COSTS, ROOT, bpo, tree_hash

ERROR_LINE = re.compile(r"error: (?P<file>[^:]+?)(?::(?P<line>\d+))?: (?P<message>.+)")
ANY_LINE = -1
"""Expected line for a problem whose exact line depends on the parser (any number is fine)."""

ALLOWED_PREFIXES = ("error: ", "warning: ", "bpo ", "  … ", "hint: ")


def cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """`bpo ARGV` in-process: (exit code, stdout, stderr)."""
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def errors(stderr: str) -> list[tuple[str, int | None, str]]:
    """The `error:` lines of stderr as (file, line, message); other lines must be known kinds."""
    assert "Traceback" not in stderr
    found = []
    for text in stderr.splitlines():
        assert text.startswith(ALLOWED_PREFIXES), text
        match = ERROR_LINE.fullmatch(text)
        if text.startswith("error: "):
            assert match is not None, text
            line = match["line"]
            found.append((match["file"], int(line) if line else None, match["message"]))
    return found


def assert_rejected(
    code: int, stderr: str, file: Path | str, line: int | None, fragments: tuple[str, ...]
) -> None:
    """Exit 2 and an error line naming `file` (and `line`) that contains every fragment."""
    assert code == 2, stderr
    problems = errors(stderr)
    assert problems, stderr
    ours = [p for p in problems if p[0] == str(file)]
    assert ours, stderr
    for _, got_line, message in ours:
        place_ok = (line == ANY_LINE and got_line is not None) or got_line == line
        if place_ok and all(f in message for f in fragments):
            return
    pytest.fail(f"no error line for {file}:{line} with {fragments}:\n{stderr}")


# file, line, fragments of the message (the place and the fix)
LOG_CASES: list[tuple[str, int | None, tuple[str, ...]]] = [
    ("truncated.csv.gz", None, ("truncated or corrupt gzip data",)),
    ("truncated_xml.xes.gz", ANY_LINE, ("malformed XML",)),
    ("malformed.xes", 8, ("malformed XML", "tag mismatch")),
    ("external_entity.xes", 2, ("DTD/entity declarations is not accepted", "remove the DOCTYPE")),
    ("entity_bomb.xmlocel", 2, ("DTD/entity declarations is not accepted", "remove the DOCTYPE")),
    (
        "pipe_delimited.csv",
        1,
        ("only one column found", "separated by '|'", "delimiter must be ',', ';' or tab"),
    ),
    ("header_only.csv", None, ("empty log: no events found",)),
    ("empty.csv", None, ("empty log: the file is empty",)),
    (
        "missing_case.csv",
        None,
        ("missing required column 'case_id'", "map it with mining.column_map.case_id"),
    ),
    (
        "missing_activity.csv",
        None,
        ("missing required column 'activity'", "map it with mining.column_map.activity"),
    ),
    (
        "missing_timestamp.csv",
        None,
        ("missing required column 'timestamp'", "map it with mining.column_map.timestamp"),
    ),
    ("bad_timestamp.csv", 17, ("cannot parse '2024-13-45' as a timestamp", "use ISO 8601")),
    ("unparseable_timestamp.csv", 2, ("cannot parse 'yesterday' as a timestamp", "use ISO 8601")),
    ("nan_timestamp.csv", 2, ("cannot parse 'NaN' as a timestamp", "fix the value")),
]


@pytest.mark.parametrize(("name", "line", "fragments"), LOG_CASES, ids=[c[0] for c in LOG_CASES])
def test_bad_log_exits_2_and_leaves_results(
    name: str,
    line: int | None,
    fragments: tuple[str, ...],
    *,
    sample: SamplePaths,
    home: Path,
    earlier_results: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    before = tree_hash(earlier_results)
    argv = ["run", "--log", str(BAD / name), "--costs", str(sample.costs)]
    code, out, err = cli([*argv, "--out", str(earlier_results)], capsys)
    assert_rejected(code, err, BAD / name, line, fragments)
    assert f"nothing written, {earlier_results} is unchanged" in err
    assert out == ""
    assert tree_hash(earlier_results) == before
    assert list(earlier_results.parent.glob("results.*")) == []  # no staging folder left


@pytest.mark.slow  # a subprocess importing dagster, pm4py and OR-Tools
@pytest.mark.parametrize(
    ("name", "fragments"),
    [
        ("truncated.xes.gz", ("cannot read the file: truncated or corrupt gzip data",)),
        ("junk.csv", ("not a CSV text file (binary content)", "export the log as CSV")),
    ],
)
def test_bad_log_as_a_user_runs_it(
    name: str, fragments: tuple[str, ...], sample: SamplePaths, earlier_results: Path
) -> None:
    """A subprocess: the user's terminal sees the error lines and nothing else alarming."""
    before = tree_hash(earlier_results)
    done = bpo("run", "--log", BAD / name, "--costs", sample.costs, "--out", earlier_results,
               home=earlier_results.parent / "h", cwd=earlier_results.parent)  # fmt: skip
    assert_rejected(done.returncode, done.stderr, BAD / name, None, fragments)
    assert "PM4Py" not in done.stderr
    assert tree_hash(earlier_results) == before


def test_entity_bomb_is_refused_fast_and_small(
    earlier_results: Path, home: Path, sample: SamplePaths, capsys: pytest.CaptureFixture[str]
) -> None:
    """Billion laughs (10⁹ expansions, ~30 GB expanded): refused in < 1 s CPU, < 50 MB more."""
    probe = (
        "import json, resource\n"
        "from pipelines.errors import InputError\n"
        "from pipelines.read import read_log\n"
        "r0 = resource.getrusage(resource.RUSAGE_SELF)\n"
        "try:\n"
        f"    read_log({str(BAD / 'entity_bomb.xes')!r})\n"
        "    outcome = 'read'\n"
        "except InputError as err:\n"
        "    outcome = str(err)\n"
        "r1 = resource.getrusage(resource.RUSAGE_SELF)\n"
        "cpu = r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime\n"
        "rss = r1.ru_maxrss - r0.ru_maxrss\n"
        "print(json.dumps({'outcome': outcome, 'cpu': cpu, 'rss_kb': rss}))\n"
    )
    limit = 2 << 30  # 2 GiB address space more than enough for the reader, far below the bomb
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (limit, limit)),
    )
    got = json.loads(done.stdout.strip().splitlines()[-1])
    assert got["outcome"] == (
        f"error: {BAD / 'entity_bomb.xes'}:2: XML with DTD/entity declarations is not "
        "accepted: remove the DOCTYPE"
    )
    assert got["cpu"] < 1.0
    assert got["rss_kb"] < 50 * 1024
    before = tree_hash(earlier_results)
    argv = ["run", "--log", str(BAD / "entity_bomb.xes"), "--costs", str(sample.costs)]
    code, _, err = cli([*argv, "--out", str(earlier_results)], capsys)
    assert_rejected(code, err, BAD / "entity_bomb.xes", 2, ("remove the DOCTYPE",))
    assert tree_hash(earlier_results) == before


def test_external_entity_is_not_resolved(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(["validate", "--log", str(BAD / "external_entity.xes")], capsys)
    assert_rejected(code, err, BAD / "external_entity.xes", 2, ("remove the DOCTYPE",))
    assert "root:" not in out + err  # /etc/passwd never read into a message


# ------------------------------------------------------------------ cost files

COST_CASES = sorted(p.name for p in BAD_COSTS.glob("*.yaml"))
YAML_PATH = re.compile(r"[a-z_]+(\[\d+\])?(\.[A-Za-z_0-9]+(\[\d+\])?)*( \([^)]*\))?: ")


@pytest.mark.parametrize("name", COST_CASES)
def test_bad_cost_file_lists_every_problem_with_its_place(
    name: str, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = BAD_COSTS / name
    code, out, err = cli(["validate", "--costs", str(path)], capsys)
    assert code == 2
    assert out == ""
    problems = errors(err)
    assert problems
    for file, line, message in problems:
        assert file == str(path)
        assert line is not None and line >= 1
        assert YAML_PATH.match(message) or message.startswith(
            ("not valid YAML", "the file holds")
        ), message
    assert err.splitlines()[-1] == f"bpo validate: {len(problems)} problem(s) found"


def test_every_kind_of_cost_file_error_is_in_the_catalogue(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One file per kind of schema error; together they name each kind's fix."""
    seen: list[str] = []
    for name in COST_CASES:
        code, _, err = cli(["validate", "--costs", str(BAD_COSTS / name)], capsys)
        assert code == 2
        seen += [m for _, _, m in errors(err)]
    text = "\n".join(seen)
    for kind in (
        "not valid YAML",  # syntax
        "duplicate key",
        "the file holds a list, not a mapping",
        "schema_version: required key is missing",
        "schema_version: 2 is not supported",
        "unknown key; did you mean 'price_per_case'?",
        "required key is missing",
        "must be a number — got text '3.10'",
        "must be a number — got a boolean true",
        "must be a finite number — got .nan",
        "must be a finite number — got .inf",
        "must be ≥ 0 — got -3.1",
        "must be ≤ 1 — got 8; rates are fractions",
        "must be < 1 — got 1.5",
        "duplicate id 'A'",
        "unknown provider 'Z'",
        "must be 'all_or_nothing', 'shareable' or 'not_movable'",
        "study.uncertainty.ranges.provider_prices: low 1.1 > high 0.9",
        "a factor must be ≥ 0 — got -0.1",
        "study.uncertainty.scenarios: must be ≥ 1 — got 0",
        "study.uncertainty.cvar_level: must be < 1 — got 1.0",
        "providers[0].price_range: low 1.3 > high 0.9",
        "the first tier must start at min_spend 0",
        "list the tiers in ascending order",
        "budget_per_year: required when risk mode is constraint",
        "takeover of system 'ERP' is impossible",
        "needs providers[0].system_takeover.CRM",
    ):
        assert kind in text, kind


def test_nan_and_infinity_are_refused_with_the_yaml_path(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, expected in (
        ("nan.yaml", "offers[0].price_per_case: must be a finite number — got .nan"),
        ("infinity.yaml", "offers[0].fixed_per_year: must be a finite number — got .inf"),
    ):
        code, _, err = cli(["validate", "--costs", str(BAD_COSTS / name)], capsys)
        assert_rejected(code, err, BAD_COSTS / name, 12, (expected, "enter a real amount"))


def test_bad_cost_file_in_a_run_leaves_results(
    sample: SamplePaths, home: Path, earlier_results: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = tree_hash(earlier_results)
    path = BAD_COSTS / "many_problems.yaml"
    argv = ["run", "--log", str(sample.log), "--costs", str(path), "--out", str(earlier_results)]
    code, _, err = cli(argv, capsys)
    assert_rejected(code, err, path, 3, ("study.governance_share: must be ≤ 1 — got 5",))
    assert_rejected(code, err, path, 3, ("study.horizon_years: must be ≥ 1 — got 0",))
    assert_rejected(code, err, path, 2, ("currency: must be a three-letter ISO 4217 code",))
    assert tree_hash(earlier_results) == before


# ------------------------------------------------------------------ ids that do not match


def _log_without(sample: SamplePaths, process: str, folder: Path) -> Path:
    path = folder / "log_without.csv"
    pl.read_csv(sample.log, infer_schema=False).filter(pl.col("process") != process).write_csv(path)
    return path


def _log_with_extra(sample: SamplePaths, folder: Path) -> Path:
    log = pl.read_csv(sample.log, infer_schema=False)
    extra = pl.DataFrame(
        {
            "case_id": ["LR-1", "LR-1"],
            "activity": ["Review Contract", "Sign Contract"],
            "timestamp": ["2025-03-03T10:00:00+00:00", "2025-03-04T10:00:00+00:00"],
            "process": ["legal_review", "legal_review"],
        }
    )
    path = folder / "log_with_extra.csv"
    pl.concat([log, extra], how="diagonal").write_csv(path)
    return path


@pytest.mark.slow  # two runs through Dagster with mining: ~10 s
def test_cost_file_process_absent_from_log_is_reported(
    sample: SamplePaths,
    home: Path,
    earlier_results: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    log = _log_without(sample, "accounts_payable", tmp_path)
    code, _, err = cli(["validate", "--log", str(log), "--costs", str(sample.costs)], capsys)
    fragments = ("processes[0] (accounts_payable): no cases and no labour cost", "override")
    assert_rejected(code, err, sample.costs, None, fragments)
    before = tree_hash(earlier_results)
    argv = ["run", "--log", str(log), "--costs", str(sample.costs), "--out", str(earlier_results)]
    code, _, err = cli(argv, capsys)
    assert_rejected(code, err, sample.costs, None, fragments)
    assert tree_hash(earlier_results) == before


@pytest.mark.slow  # two runs through Dagster with mining: ~10 s
def test_log_process_absent_from_cost_file_is_reported(
    sample: SamplePaths,
    home: Path,
    earlier_results: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    log = _log_with_extra(sample, tmp_path)
    code, _, err = cli(["validate", "--log", str(log), "--costs", str(sample.costs)], capsys)
    fragments = ("process 'legal_review'", "list it under processes:")
    assert_rejected(code, err, sample.costs, None, fragments)
    before = tree_hash(earlier_results)
    argv = ["run", "--log", str(log), "--costs", str(sample.costs), "--out", str(earlier_results)]
    code, _, err = cli(argv, capsys)
    assert_rejected(code, err, sample.costs, None, fragments)
    assert tree_hash(earlier_results) == before


# ------------------------------------------------------------------ suspicious but usable


@pytest.mark.slow  # mining and discovery through Dagster: ~10 s
def test_duplicated_events_warn_and_the_run_succeeds(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "mined"
    path = BAD / "duplicate_events.csv"
    code, stdout, err = cli(["mine", "--log", str(path), "--out", str(out)], capsys)
    assert code == 0, err
    assert errors(err) == []
    assert (
        f"warning: {path}: process 'duplicate_events': 1 repeated events (same case, activity, "
        "timestamp and resource) beyond the first; check the export for double rows"
    ) in err.splitlines()
    quality = pl.read_csv(out / "data_quality.csv")
    row = quality.filter(pl.col("check") == "duplicate_events").row(0, named=True)
    assert (row["process"], row["severity"], row["rows"]) == ("duplicate_events", "warning", 1)
    assert pl.read_csv(out / "process_kpis.csv")["events"].to_list() == [3]
    assert f"results: {out}" in stdout


@pytest.mark.parametrize("name", ["year_1800.csv", "year_9999.csv"])
def test_far_away_timestamps_warn(
    name: str, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Timestamps far outside the observation window are a warning, not an error."""
    path = BAD / name
    code, out, err = cli(["validate", "--log", str(path)], capsys)
    assert code == 0, err
    assert (
        f"warning: {path}: process '{path.stem}': 1 timestamps before 1990, more than a year in "
        "the future, or beyond 3×IQR of the process's event dates; check time zone, clocks and "
        "placeholder dates"
    ) in err.splitlines()
    assert out == "ok: 3 events, 2 cases, 1 processes\n"


def test_mixed_time_zones_read_each_value_by_its_own_offset(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Decision: accepted. A value with an offset keeps it; a naive one is read in --timezone."""
    path = BAD / "mixed_timezones.csv"
    code, out, _ = cli(["validate", "--log", str(path), "--timezone", "Europe/Berlin"], capsys)
    assert (code, out) == (0, "ok: 3 events, 2 cases, 1 processes\n")
    log = read_log(path, LogOptions(timezone="Europe/Berlin"))
    got = {
        (c, a): t.isoformat() for c, a, t in log.select("case_id", "activity", "timestamp").rows()
    }
    assert got == {
        ("c1", "Register"): "2024-01-01T09:00:00+00:00",  # +01:00 given
        ("c1", "Approve"): "2024-01-01T10:00:00+00:00",  # naive, Berlin winter time
        ("c2", "Register"): "2024-01-02T09:00:00+00:00",  # Z given
    }
