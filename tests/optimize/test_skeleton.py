"""A study from scratch: TODOs listed with their lines, the price sheet read back as offers."""

import gzip
from pathlib import Path

import pytest

from optimize.costfile import load_costs, parse_costs
from optimize.preflight import check_inputs
from pipelines import exclusions
from pipelines.errors import InputError
from pipelines.read import LogOptions, read_log

DATA = Path(__file__).resolve().parents[1] / "data"

TODO_FILE = """\
schema_version: 1
roles:
  - id: clerk
    cost_per_hour: TODO
systems:
  - {id: ERP, run_cost_per_year: TODO}
providers:
  - id: p1
    location: TODO
    certifications: [TODO]
"""


def test_each_todo_is_one_problem_with_its_line() -> None:
    with pytest.raises(InputError) as err:
        parse_costs(TODO_FILE, "costs.yaml")
    assert [str(p) for p in err.value.problems] == [
        "error: costs.yaml:4: roles[0].cost_per_hour: still TODO; fill in the value "
        "(see docs/cost-file.md#roles)",
        "error: costs.yaml:6: systems[0].run_cost_per_year: still TODO; fill in the value "
        "(see docs/cost-file.md#systems)",
        "error: costs.yaml:9: providers[0].location: still TODO; fill in the value "
        "(see docs/cost-file.md#providers)",
        "error: costs.yaml:10: providers[0].certifications[0]: still TODO; fill in the value "
        "(see docs/cost-file.md#providers)",
    ]


def test_a_filled_file_is_valid() -> None:
    text = TODO_FILE.replace("cost_per_hour: TODO", "cost_per_hour: 40")
    text = text.replace("run_cost_per_year: TODO", "run_cost_per_year: 1000")
    text = text.replace("location: TODO", "location: DE").replace("[TODO]", "[ISO27001]")
    costs = parse_costs(text, "costs.yaml")
    assert costs.roles[0].cost_per_hour == 40.0
    assert costs.providers[0].certifications == ["ISO27001"]


SHEET = """\
process,provider,cases_per_year,handling_hours_per_case,throughput_p90_hours,systems,data_class,price_per_case,fixed_per_year,transition_cost,sla_throughput_hours,it,risk_per_year
P1,A,10000,0.5,40,S1,,25,,100000,,,
P2,A,5000,0.2,12,S1;S2,personal,,,,,,
"""


def test_a_filled_price_sheet_beside_the_cost_file_is_read_as_offers(tmp_path: Path) -> None:
    costs = tmp_path / "costs.yaml"
    costs.write_text(
        "schema_version: 1\nproviders: [{id: A}]\nprocesses:\n"
        "  - {id: P1, override: {cases_per_year: 10000, inhouse_cost_per_year: 300000}}\n",
        encoding="utf-8",
    )
    (tmp_path / "offers.csv").write_text(SHEET, encoding="utf-8")
    offers = load_costs(costs).offers
    assert [(o.process, o.provider, o.price_per_case, o.transition_cost) for o in offers] == [
        ("P1", "A", 25.0, 100000.0)
    ]  # P2's row has no price: no offer; the fact columns are ignored


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            gzip.compress(b"schema_version: 1\n", mtime=0),
            "is gzip-compressed, not YAML text; unpack it",
        ),
        (b"PK\x03\x04rest", "is a ZIP archive (an Excel or Word file?), not YAML text"),
        (b"schema_version: 1\n\x00\x01", "is a binary file, not YAML text"),
    ],
    ids=["gzip", "zip", "binary"],
)
def test_a_compressed_or_binary_cost_file_is_called_what_it_is(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "costs.yaml"
    path.write_bytes(content)
    with pytest.raises(InputError) as err:
        load_costs(path)
    assert len(err.value.problems) == 1
    assert err.value.problems[0].message.startswith(message)


def test_every_input_is_checked_and_all_problems_listed_together(tmp_path: Path) -> None:
    costs = DATA / "costs" / "bad" / "negative_price.yaml"
    problems = check_inputs(
        [str(tmp_path / "missing.xes.gz"), str(DATA / "bad" / "missing_case.csv")],
        str(costs),
        str(tmp_path / "no_such_folder"),
    )
    assert [(p.file, p.line) for p in problems] == [
        (str(costs), 12),
        (str(tmp_path / "missing.xes.gz"), None),
        (str(DATA / "bad" / "missing_case.csv"), None),
        (str(tmp_path / "no_such_folder"), None),
    ]
    assert problems[1].message == "cannot read the file: no such file"
    assert problems[2].message.startswith("missing required column 'case_id'")


def test_excluded_events_are_counted_by_resource() -> None:
    log = DATA / "running-example.xes"
    everything = read_log(log)
    counts = everything.group_by("resource").len()
    expected = {r: n for r, n in counts.iter_rows() if r in ("Pete", "Mike")}
    exclusions.take()
    kept = read_log(log, LogOptions(exclude_resources=("Pete", "Mike")))
    assert kept.height == everything.height - sum(expected.values())
    taken = exclusions.take([str(log)])
    assert taken == expected
    assert exclusions.message(taken) == (
        f"excluded {sum(expected.values()):,} events by Mike, Pete (mining.exclude_resources)"
    )
    assert exclusions.take([str(log)]) == {}
