"""The cost file (docs/cost-file.md): schema, messages with YAML path and line, offers.csv."""

import re
import shutil
from datetime import date
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optimize.costfile import CostFile, load_costs, parse_costs
from pipelines.errors import InputError

COSTS = Path(__file__).parents[1] / "data" / "costs"
BAD = COSTS / "bad"


def problems_of(path: Path | str) -> list[str]:
    with pytest.raises(InputError) as info:
        load_costs(path)
    return [str(p) for p in info.value.problems]


# --- valid files --------------------------------------------------------------------------


def test_example_of_model_section_7_loads_with_every_value() -> None:
    costs = load_costs(COSTS / "example.yaml")
    assert costs.study.horizon_years == 5
    assert costs.study.discount_rate == 0.08
    assert costs.study.observation_period is not None
    assert costs.study.observation_period.start == date(2025, 1, 1)
    assert costs.study.risk.mode == "constraint"
    assert costs.study.risk.budget_per_year == 150000
    assert costs.study.keep_together_threshold is None
    assert costs.mining.activity_to_system == {"Post Invoice": "ERP"}
    assert costs.mining.timezone == "Europe/Berlin"
    assert [r.hourly_rate(1600) for r in costs.roles] == [42.5, 42.5]
    assert costs.resource_roles() == {"anna": "ap_clerk", "ben": "ap_clerk"}
    assert costs.data_classes["personal_sensitive"].allowed_locations == ["DE", "EU"]
    ap, vm, pd_ = costs.processes
    assert (ap.calibration_factor, ap.retained_share, ap.override.cases_per_year) == (
        1.2,
        0.1,
        52000,
    )
    assert vm.override.systems == ["ERP"]
    assert vm.override.fte == 1.4
    assert pd_.core is True
    erp, ocr = costs.systems
    assert (erp.policy, erp.retirable, ocr.decommission_cost) == ("not_movable", False, 5000)
    (bpo_a,) = costs.providers
    assert [(t.min_spend, t.rebate) for t in bpo_a.rebate_tiers] == [(0, 0.0), (500000, 0.05)]
    assert bpo_a.system_takeover["OCR"].migration_cost == 15000
    assert bpo_a.capacity is not None and bpo_a.capacity.cases_per_year == 400000
    (offer,) = costs.offers
    assert offer.it == {"ERP": "access", "OCR": "takeover"}
    assert (offer.price_per_case, offer.sla_throughput_hours) == (3.10, 48)
    (coupling,) = costs.couplings_override
    assert (coupling.from_, coupling.to, coupling.interface_cost) == (
        "accounts_payable",
        "vendor_master",
        25000,
    )


def test_minimal_file_gets_the_documented_defaults() -> None:
    costs = parse_costs("schema_version: 1\n")
    assert costs.currency == "EUR"
    assert costs.study.horizon_years == 5
    assert costs.study.discount_rate == 0.08
    assert costs.study.governance_share == 0.05
    assert costs.study.hours_per_fte == 1600
    assert costs.study.risk.mode == "none"
    assert costs.processes == [] and costs.offers == []


def test_an_optional_key_without_value_takes_its_default() -> None:
    costs = parse_costs(
        "schema_version: 1\nstudy: {horizon_years: , max_providers: null}\n"
        "processes:\n  - id: P\n    override:\n    core:\n"
    )
    assert (costs.study.horizon_years, costs.study.max_providers) == (5, None)
    (process,) = costs.processes
    assert (process.core, process.override.cases_per_year) == (False, None)
    with pytest.raises(InputError) as info:
        parse_costs("schema_version: 1\nproviders: [{id: }]\n", "c.yaml")
    assert [str(p) for p in info.value.problems] == [
        "error: c.yaml:2: providers[0].id: must be text — got nothing (null)"
    ]


def test_yaml_1_2_booleans_and_exponent_numbers() -> None:
    costs = parse_costs(
        "schema_version: 1\n"
        "providers:\n"
        "  - {id: A, location: NO, certifications: [yes, on], min_annual_value: 1e5}\n"
    )
    (provider,) = costs.providers
    assert provider.location == "NO"  # Norway, not false
    assert provider.certifications == ["yes", "on"]
    assert provider.min_annual_value == 100000.0


def test_role_cost_per_year_over_practical_hours() -> None:
    costs = parse_costs(
        "schema_version: 1\nstudy: {hours_per_fte: 1500}\n"
        "roles:\n  - {id: a, cost_per_year: 68000, practical_hours_per_year: 1600}\n"
        "  - {id: b, cost_per_year: 60000}\n"
    )
    assert [r.hourly_rate(costs.study.hours_per_fte) for r in costs.roles] == [42.5, 40.0]


# --- the bad catalogue --------------------------------------------------------------------

CATALOGUE = [
    (
        "negative_price.yaml",
        [
            "12: offers[0].price_per_case: must be ≥ 0 — got -3.1; amounts, counts and hours "
            "cannot be negative"
        ],
    ),
    (
        "rebate_above_one.yaml",
        [
            "14: providers[1].rebate_tiers[1].rebate: must be < 1 — got 1.5; rates are fractions: "
            "write 5 % as 0.05"
        ],
    ),
    (
        "rate_above_one.yaml",
        ["2: study.discount_rate: must be ≤ 1 — got 8; rates are fractions: write 5 % as 0.05"],
    ),
    (
        "tiers_out_of_order.yaml",
        [
            "15: providers[1].rebate_tiers[2].min_spend: must be greater than the previous tier's "
            "min_spend 5000 — got 2000; list the tiers in ascending order of min_spend"
        ],
    ),
    (
        "tiers_not_from_zero.yaml",
        [
            "13: providers[1].rebate_tiers[0].min_spend: the first tier must start at min_spend 0 "
            "— got 100; add a tier {min_spend: 0, rebate: 0.0} before it"
        ],
    ),
    (
        "unknown_provider.yaml",
        [
            "12: offers[0].provider: unknown provider 'Z'; known providers: A — add it under "
            "providers: or fix the spelling"
        ],
    ),
    (
        "takeover_not_movable.yaml",
        [
            "15: offers[0].it.ERP: takeover of system 'ERP' is impossible: it is not_movable; use "
            "access or own_platform, or change the system's policy"
        ],
    ),
    (
        "takeover_without_terms.yaml",
        [
            "15: offers[0].it.CRM: takeover of 'CRM' needs providers[0].system_takeover.CRM with "
            "annual_fee and migration_cost (write zeros if free)"
        ],
    ),
    (
        "duplicate_ids.yaml",
        [
            "11: providers[1].id: duplicate id 'A' (first at providers[0]); ids must be unique — "
            "rename or merge the two entries"
        ],
    ),
    (
        "duplicate_key.yaml",
        [
            "3: study: duplicate key (also on line 2); YAML keeps only the last one — remove or "
            "merge the two"
        ],
    ),
    (
        "unknown_key.yaml",
        [
            "12: offers[0].price_per_case: required key is missing; add it",
            "12: offers[0].price_per_cse: unknown key; did you mean 'price_per_case'? allowed "
            "keys here: process, provider, price_per_case, fixed_per_year, transition_cost, "
            "sla_throughput_hours, it, risk_per_year, transition_quarters",
        ],
    ),
    (
        "wrong_type.yaml",
        [
            "12: offers[0].price_per_case: must be a number — got text '3.10'; write a plain "
            "number, without quotes or units"
        ],
    ),
    (
        "bad_policy.yaml",
        [
            "6: systems[0].policy: must be 'all_or_nothing', 'shareable' or 'not_movable' — got "
            "'movable'"
        ],
    ),
    (
        "nan.yaml",
        ["12: offers[0].price_per_case: must be a finite number — got .nan; enter a real amount"],
    ),
    (
        "infinity.yaml",
        ["12: offers[0].fixed_per_year: must be a finite number — got .inf; enter a real amount"],
    ),
    (
        "bool_number.yaml",
        [
            "12: offers[0].transition_cost: must be a number — got a boolean true; write a plain "
            "number, without quotes or units"
        ],
    ),
    (
        "risk_without_budget.yaml",
        [
            "2: study.risk.budget_per_year: required when risk mode is constraint; give the "
            "maximum risk per year, or use mode objective or none"
        ],
    ),
    (
        "missing_schema_version.yaml",
        ["1: schema_version: required key is missing; add `schema_version: 1` as the first line"],
    ),
    (
        "wrong_schema_version.yaml",
        [
            "1: schema_version: 2 is not supported; this version of bpo reads schema_version 1 "
            "(docs/cost-file.md)"
        ],
    ),
    (
        "bad_syntax.yaml",
        [
            "8: not valid YAML: while parsing a flow mapping (line 7): expected ',' or '}', but "
            "got ':' (column 10); check the indentation, quoting and colons on this line"
        ],
    ),
    (
        "uncertainty_low_above_high.yaml",
        [
            "5: study.uncertainty.ranges.provider_prices: low 1.1 > high 0.9; write [low, mode, "
            "high] with low ≤ mode ≤ high, e.g. [0.9, 1.0, 1.2]"
        ],
    ),
    (
        "uncertainty_negative_factor.yaml",
        [
            "5: study.uncertainty.ranges.volumes[0]: a factor must be ≥ 0 — got -0.1; factors "
            "multiply a figure (1.0 = unchanged, 0.9 = 10 % lower)"
        ],
    ),
    (
        "uncertainty_no_scenarios.yaml",
        [
            "4: study.uncertainty.scenarios: must be ≥ 1 — got 0; draw at least one scenario "
            "(default: scenarios 1000, saa_scenarios 50)"
        ],
    ),
    (
        "uncertainty_cvar_level.yaml",
        [
            "3: study.uncertainty.cvar_level: must be < 1 — got 1.0; the CVaR level is a "
            "probability strictly between 0 and 1, e.g. 0.95"
        ],
    ),
    (
        "price_range_low_above_high.yaml",
        [
            "8: providers[0].price_range: low 1.3 > high 0.9; write [low, mode, high] with "
            "low ≤ mode ≤ high, e.g. [0.9, 1.0, 1.2]"
        ],
    ),
    (
        "not_a_mapping.yaml",
        [
            "1: the file holds a list, not a mapping; a cost file starts with `schema_version: 1` "
            "followed by sections such as study:, processes:, offers:"
        ],
    ),
]


@pytest.mark.parametrize(("name", "expected"), CATALOGUE, ids=[c[0] for c in CATALOGUE])
def test_bad_cost_file_gives_its_own_message(name: str, expected: list[str]) -> None:
    path = BAD / name
    first = expected[0].split(": ", 1)[1]
    with pytest.raises(InputError, match=re.escape(first)) as info:
        load_costs(path)
    assert [str(p) for p in info.value.problems] == [f"error: {path}:{e}" for e in expected]
    for problem in info.value.problems:
        assert re.fullmatch(rf"error: {re.escape(str(path))}:\d+: \S.*", str(problem))


def test_every_catalogue_file_is_tested() -> None:
    tested = {name for name, _ in CATALOGUE} | {"many_problems.yaml"}
    assert {p.name for p in BAD.glob("*.yaml")} == tested


def test_base_of_the_catalogue_is_valid() -> None:
    assert isinstance(load_costs(COSTS / "base_valid.yaml"), CostFile)


def test_all_problems_of_a_file_are_listed_in_line_order() -> None:
    path = BAD / "many_problems.yaml"
    assert problems_of(path) == [
        f"error: {path}:{m}"
        for m in [
            "2: currency: must be a three-letter ISO 4217 code such as EUR — got 'euro'",
            "3: study.governance_share: must be ≤ 1 — got 5; rates are fractions: write 5 % as "
            "0.05",
            "3: study.horizon_years: must be ≥ 1 — got 0; correct the value",
            "3: study.risk.mode: must be 'constraint', 'objective' or 'none' — got 'maybe'",
            "5: roles[0].cost_per_year: give either cost_per_hour or cost_per_year, not both",
            "6: roles[1].id: duplicate id 'clerk' (first at roles[0]); ids must be unique — "
            "rename or merge the two entries",
            "7: default_role: unknown role 'boss'; known roles: clerk — add it under roles: or "
            "fix the spelling",
            "9: processes[0].data_class: unknown data class 'secret'; known data classes: none "
            "— add it under data_classes: or fix the spelling",
            "9: processes[0].override.cases_per_year: must be ≥ 0 — got -5; amounts, counts and "
            "hours cannot be negative",
            "10: processes[1].core: must be true or false — got text 'yes'",
            "10: processes[1].id: 'in_house' is reserved for the in-house option; choose "
            "another id",
            "12: providers[0].capacity: give cases_per_year and/or fte, or remove capacity",
            "14: offers[0].provider: unknown provider 'B'; known providers: A — add it under "
            "providers: or fix the spelling",
            "14: offers[0].sla_throughput_hours: must be > 0 — got 0; use a positive value, or "
            "leave the key out for the default",
            "15: offers[1].provider: unknown provider 'B'; known providers: A — add it under "
            "providers: or fix the spelling",
            "15: offers[1]: a second offer for process 'P1' by provider 'B' (first at "
            "offers[0]); keep one",
            "17: couplings_override[0].to: a process cannot be coupled with itself ('P1'); name "
            "two processes",
        ]
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "schema_version: 1\nroles:\n  - {id: a}\n",
            "3: roles[0]: needs cost_per_hour, or cost_per_year with practical_hours_per_year",
        ),
        (
            "schema_version: 1\nroles:\n  - {id: a, cost_per_hour: 1, practical_hours_per_year: 9}"
            "\n",
            "3: roles[0].practical_hours_per_year: only used with cost_per_year; remove it or "
            "give cost_per_year instead",
        ),
        (
            "schema_version: 1\nroles:\n  - {id: a, cost_per_hour: 1, resources: [x]}\n"
            "  - {id: b, cost_per_hour: 2, resources: [y, x]}\n",
            "4: roles[1].resources[1]: resource 'x' is already in role 'a'; a resource belongs "
            "to one role",
        ),
        (
            "schema_version: 1\nprocesses:\n  - id: P\n    override:\n"
            "      handling_hours_per_case: 1\n",
            "5: processes[0].override.handling_hours_per_case: needs a role to price the hours; "
            "add `role:` here or a default_role",
        ),
        (
            "schema_version: 1\nroles: [{id: r, cost_per_hour: 1}]\nprocesses:\n"
            "  - {id: P, override: {role: r}}\n",
            "4: processes[0].override.role: only used with handling_hours_per_case; add the "
            "hours or remove the role",
        ),
        (
            "schema_version: 1\nsystems: [{id: E, policy: not_movable}]\n"
            "providers: [{id: A, system_takeover: {E: {annual_fee: 1}}}]\n",
            "3: providers[0].system_takeover.E: system 'E' is not_movable and can never be taken "
            "over; remove this entry or change the system's policy",
        ),
        (
            "schema_version: 1\ncouplings_override:\n  - {from: a, to: b}\n  - {from: b, to: a}\n",
            "4: couplings_override[1]: the pair 'b'–'a' is already given at "
            "couplings_override[0] (handovers count both directions); keep one entry",
        ),
        (
            "schema_version: 1\nstudy:\n  observation_period: {start: 2025-02-01, end: 2025-01-01}"
            "\n",
            "3: study.observation_period.end: ends (2025-01-01) before it starts (2025-02-01); "
            "swap the dates",
        ),
        (
            "schema_version: 1\nmining: {timezone: Mars/Olympus}\n",
            "2: mining.timezone: unknown time zone 'Mars/Olympus'; use an IANA name such as "
            "Europe/Berlin or UTC",
        ),
        (
            "schema_version: 1\nmining: {model: heuristic}\n",
            "2: mining.model: unknown model candidate 'heuristic'; use one of imd, imd_80, "
            "imf_0.8, imf_0.6, imf_0.4, imf_0.2, im_80, im_90, im_95, im",
        ),
        (
            "schema_version: 1\nmining: {discovery_seconds: 0}\n",
            "2: mining.discovery_seconds: must be > 0 — got 0; use a positive value, or leave "
            "the key out for the default",
        ),
        (
            "schema_version: 1\nmining: {activity_classifier: concept:name}\n",
            "2: mining.activity_classifier: must be a list (`- item` lines or [a, b]) — got text "
            "'concept:name'",
        ),
        (
            "schema_version: 1\nmining: {activity_classifier: []}\n",
            "2: mining.activity_classifier: needs at least 1 item(s); leave the key out for the "
            "default",
        ),
        (
            "schema_version: 1\nmining: {activity_classifier: [concept:name, concept:name]}\n",
            "2: mining.activity_classifier: attribute 'concept:name' is listed twice; name each "
            "attribute once",
        ),
        (
            "schema_version: 1\nstudy: {horizon_years: 5.0}\n",
            "2: study.horizon_years: must be a whole number — got a number 5.0; write e.g. 5",
        ),
        (
            "schema_version: 1\nproviders: [{id: A, rebate_tiers: []}]\n",
            "2: providers[0].rebate_tiers: needs at least 1 item(s); leave the key out for the "
            "default",
        ),
        (
            "schema_version: 1\nproviders:\n  - {id: A, capacity: {cases_per_year: 1e400}}\n",
            "3: providers[0].capacity.cases_per_year: must be a finite number — got .inf; enter "
            "a real amount",
        ),
        (
            "schema_version: 1\nprocesses: {id: P}\n",
            "2: processes: must be a list (`- item` lines or [a, b]) — got a mapping",
        ),
        (
            "schema_version: 1\nprocesses:\n  - id: P\n    override: {cases_per_year: 10}\n"
            "    ovverride: {}\n",
            "5: processes[0].ovverride: unknown key; did you mean 'override'? allowed keys here: "
            "id, core, data_class, throughput_target_hours, calibration_factor, "
            "other_avoidable_cost_per_year, retained_share, override, reference_model, "
            "not_before",
        ),
        (
            "schema_version: 1\nprocesses:\n  - {id: P, other_avoidable_cost_per_year: 2e12}\n",
            "3: processes[0].other_avoidable_cost_per_year: must be ≤ 1e+12 — got 2000000000000.0;"
            " amounts are per year in the file's currency; check for a typo",
        ),
    ],
)
def test_cross_field_and_type_messages(text: str, expected: str) -> None:
    with pytest.raises(InputError) as info:
        parse_costs(text, "c.yaml")
    assert [str(p) for p in info.value.problems] == [f"error: c.yaml:{expected}"]


def test_file_level_problems_are_single_and_clear(tmp_path: Path) -> None:
    assert problems_of(tmp_path / "nope.yaml") == [
        f"error: {tmp_path / 'nope.yaml'}: file not found; check the --costs path"
    ]
    assert problems_of(tmp_path) == [f"error: {tmp_path}: is a folder; give the cost file itself"]
    empty = tmp_path / "empty.yaml"
    empty.write_text("# nothing\n")
    assert problems_of(empty) == [
        f"error: {empty}:1: the file is empty; a cost file is a YAML mapping that starts with "
        "`schema_version: 1` (see docs/cost-file.md for an example)"
    ]
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("schema_version: 1\ncurrency: \xa4\n".encode("latin-1"))
    assert problems_of(latin) == [
        f"error: {latin}: not UTF-8 text (invalid start byte); save the file as UTF-8"
    ]


def test_alias_bomb_is_refused_with_one_problem() -> None:
    lines = ["schema_version: 1", "a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 8)]
    with pytest.raises(InputError) as info:
        parse_costs("\n".join(lines) + "\n", "bomb.yaml")
    assert [str(p) for p in info.value.problems] == [
        "error: bomb.yaml:1: the document has more than 200,000 values once its aliases are "
        "expanded; a cost file is far smaller — remove the nested aliases"
    ]


def test_unsafe_tag_is_a_yaml_problem_not_code_execution() -> None:
    with pytest.raises(InputError, match=r"c\.yaml:2: not valid YAML: could not determine a "):
        parse_costs("schema_version: 1\nx: !!python/object/apply:os.system [echo]\n", "c.yaml")


# --- offers.csv -----------------------------------------------------------------------------


def test_offers_csv_beside_the_yaml_is_merged(tmp_path: Path) -> None:
    shutil.copy(COSTS / "base_valid.yaml", tmp_path / "costs.yaml")
    (tmp_path / "offers.csv").write_text(
        "process,provider,price_per_case,fixed_per_year,transition_cost,sla_throughput_hours,it,"
        "risk_per_year\n"
        "P1,A,3.10,12000,60000,48,ERP=access;OCR=takeover,15000\n"
        "\n"
        "P2,A,4,,,,,\n"
    )
    costs = load_costs(tmp_path / "costs.yaml")
    first, second = costs.offers
    assert first.model_dump() == {
        "process": "P1",
        "provider": "A",
        "price_per_case": 3.10,
        "fixed_per_year": 12000.0,
        "transition_cost": 60000.0,
        "sla_throughput_hours": 48.0,
        "it": {"ERP": "access", "OCR": "takeover"},
        "risk_per_year": 15000.0,
        "transition_quarters": 1,
    }
    assert (second.process, second.price_per_case, second.it, second.fixed_per_year) == (
        "P2",
        4.0,
        {},
        0.0,
    )


def test_offers_csv_problems_carry_csv_line_numbers() -> None:
    csv_path = BAD / "offers_csv" / "offers.csv"
    assert problems_of(BAD / "offers_csv" / "costs.yaml") == [
        f"error: {csv_path}:3: {m}"
        for m in [
            "price_per_case: must be a number — got text 'abc'; write a plain number, without "
            "quotes or units",
            "provider: unknown provider 'B'; known providers: A — add it under providers: or "
            "fix the spelling",
            "it.ERP: takeover of system 'ERP' is impossible: it is not_movable; use access or "
            "own_platform, or change the system's policy",
        ]
    ]


@pytest.mark.parametrize(
    ("csv_text", "expected"),
    [
        (
            "process,provider,price_per_cse\nP1,A,3\n",
            [
                "1: price_per_cse: unknown column; did you mean 'price_per_case'? columns: "
                "process, provider, price_per_case, fixed_per_year, transition_cost, "
                "sla_throughput_hours, it, risk_per_year, transition_quarters",
                "1: price_per_case: required column is missing; add it to the header row",
            ],
        ),
        (
            "process,provider,price_per_case\nP1,A\n",
            ["2: row: has 2 cells but the header has 3 columns"],
        ),
        (
            "process,provider,price_per_case,it\nP1,A,nan,ERP:access\n",
            [
                "2: it: 'ERP:access' is not SYSTEM=MODE; write e.g. ERP=access;OCR=takeover",
                "2: price_per_case: must be a finite number — got .nan; enter a real amount",
            ],
        ),
        (
            "process,provider,price_per_case\nP1,A,3\nP1,A,4\n",
            ["3: row: a second offer for process 'P1' by provider 'A' (first at line 2); keep one"],
        ),
        (
            "process,provider,price_per_case,it\nP1,A,-1,OCR=lease\n",
            [
                "2: it.OCR: must be 'takeover', 'own_platform' or 'access' — got 'lease'",
                "2: price_per_case: must be ≥ 0 — got -1.0; amounts, counts and hours cannot be "
                "negative",
            ],
        ),
        (
            "",
            [
                "1: is empty; give a header row: process,provider,price_per_case,fixed_per_year,"
                "transition_cost,sla_throughput_hours,it,risk_per_year,transition_quarters"
            ],
        ),
    ],
)
def test_offers_csv_messages(tmp_path: Path, csv_text: str, expected: list[str]) -> None:
    shutil.copy(COSTS / "base_valid.yaml", tmp_path / "costs.yaml")
    (tmp_path / "offers.csv").write_text(csv_text)
    got = problems_of(tmp_path / "costs.yaml")
    assert sorted(got) == sorted(f"error: {tmp_path / 'offers.csv'}:{e}" for e in expected)


def test_offer_in_both_yaml_and_csv_is_a_duplicate(tmp_path: Path) -> None:
    text = (COSTS / "base_valid.yaml").read_text()
    (tmp_path / "costs.yaml").write_text(
        text + "offers:\n  - {process: P1, provider: A, price_per_case: 2}\n"
    )
    (tmp_path / "offers.csv").write_text("process,provider,price_per_case\nP1,A,3\n")
    assert problems_of(tmp_path / "costs.yaml") == [
        f"error: {tmp_path / 'offers.csv'}:2: row: a second offer for process 'P1' by provider "
        f"'A' (first at offers[0] of {tmp_path / 'costs.yaml'}); keep one"
    ]


# --- fuzz -----------------------------------------------------------------------------------

KEYS = [
    "schema_version", "study", "processes", "providers", "offers", "systems", "roles", "id",
    "price_per_case", "rebate_tiers", "min_spend", "rebate", "it", "override", "capacity",
    "system_takeover", "policy", "from", "to", "data_classes", "default_role", "risk", "mode",
    "cases_per_year", "horizon_years", "zzz",
]  # fmt: skip
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["ERP", "takeover", "access", "not_movable", "A", "P1", "constraint", ""]),
    st.text(max_size=8),
    st.dates(),
)
DOCS = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(KEYS), inner, max_size=5),
    ),
    max_leaves=30,
)


def _accepts_or_reports(text: str) -> None:
    try:
        assert isinstance(parse_costs(text, "f.yaml"), CostFile)
    except InputError as exc:
        assert exc.problems
        assert all(str(p).startswith("error: f.yaml") for p in exc.problems)


@pytest.mark.slow
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=st.dictionaries(st.sampled_from(KEYS), DOCS, max_size=6), version=st.booleans())
def test_fuzz_structured_documents_give_costfile_or_input_error(body: dict, version: bool) -> None:
    if version:
        body = {**body, "schema_version": 1}
    _accepts_or_reports(yaml.safe_dump(body, allow_unicode=True))


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_fuzz_mutated_example_gives_costfile_or_input_error(data: st.DataObject) -> None:
    text = (COSTS / "example.yaml").read_text()
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(text)))
        cut = data.draw(st.integers(0, 5))
        insert = data.draw(st.text(alphabet=" :-[]{},#&*!|>'\"\n0123456789.abcx", max_size=4))
        text = text[:at] + insert + text[at + cut :]
    _accepts_or_reports(text)


@pytest.mark.slow
@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=200))
def test_fuzz_arbitrary_text_gives_costfile_or_input_error(text: str) -> None:
    _accepts_or_reports(text)
