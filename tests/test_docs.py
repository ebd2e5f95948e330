"""The project documents itself: docs/ is complete, current, linked, and points nowhere else."""

import re
import subprocess
from pathlib import Path

import pytest

from optimize import costfile, docgen
from optimize.costfile import CostFile, Study
from pipelines.demo import costs_yaml as demo_costs_yaml

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"

KEYS_OF_THIS_VERSION = (
    "schema_version",
    "currency",
    "study",
    "study.horizon_years",
    "study.discount_rate",
    "study.observation_period",
    "study.observation_period.start",
    "study.observation_period.end",
    "study.hours_per_fte",
    "study.governance_share",
    "study.cost_per_cross_org_handover",
    "study.max_providers",
    "study.inhouse_fte_cap",
    "study.transition_fte_cap",
    "study.keep_together_threshold",
    "study.risk",
    "study.risk.mode",
    "study.risk.budget_per_year",
    "study.risk.weight",
    "mining",
    "mining.object_type",
    "mining.query",
    "mining.process_attribute",
    "mining.system_attribute",
    "mining.column_map",
    "mining.activity_to_system",
    "mining.exclude_resources",
    "mining.timezone",
    "roles",
    "roles[].id",
    "roles[].cost_per_hour",
    "roles[].cost_per_year",
    "roles[].practical_hours_per_year",
    "roles[].resources",
    "default_role",
    "data_classes",
    "data_classes.<name>.allowed_locations",
    "data_classes.<name>.required_certifications",
    "processes",
    "processes[].id",
    "processes[].core",
    "processes[].data_class",
    "processes[].throughput_target_hours",
    "processes[].calibration_factor",
    "processes[].other_avoidable_cost_per_year",
    "processes[].retained_share",
    "processes[].override",
    "processes[].override.cases_per_year",
    "processes[].override.handling_hours_per_case",
    "processes[].override.role",
    "processes[].override.inhouse_cost_per_year",
    "processes[].override.fte",
    "processes[].override.systems",
    "processes[].override.throughput_p90_hours",
    "processes[].reference_model",
    "systems",
    "systems[].id",
    "systems[].run_cost_per_year",
    "systems[].policy",
    "systems[].retirable",
    "systems[].decommission_cost",
    "providers",
    "providers[].id",
    "providers[].location",
    "providers[].certifications",
    "providers[].setup_cost",
    "providers[].management_cost_per_year",
    "providers[].capacity",
    "providers[].capacity.cases_per_year",
    "providers[].capacity.fte",
    "providers[].min_annual_value",
    "providers[].max_volume_share",
    "providers[].rebate_tiers",
    "providers[].rebate_tiers[].min_spend",
    "providers[].rebate_tiers[].rebate",
    "providers[].risk_per_year",
    "providers[].system_takeover",
    "providers[].system_takeover.<name>.annual_fee",
    "providers[].system_takeover.<name>.migration_cost",
    "offers",
    "offers[].process",
    "offers[].provider",
    "offers[].price_per_case",
    "offers[].fixed_per_year",
    "offers[].transition_cost",
    "offers[].sla_throughput_hours",
    "offers[].it",
    "offers[].risk_per_year",
    "couplings_override",
    "couplings_override[].from",
    "couplings_override[].to",
    "couplings_override[].handovers_per_year",
    "couplings_override[].interface_cost",
)
"""Every key the schema had when the reference was written: each must be fully described.
Keys added later render by themselves (an empty description until one is written)."""


def test_the_committed_cost_file_reference_is_the_generated_one() -> None:
    committed = (DOCS / "cost-file.md").read_text(encoding="utf-8")
    assert committed == docgen.render(), (
        "docs/cost-file.md differs from the schema in optimize/costfile.py; regenerate it "
        "with `make docs` (python -m optimize.docgen > docs/cost-file.md) and commit it"
    )


def test_every_key_is_in_the_reference_with_type_default_model_and_example() -> None:
    keys = {key.path: key for key in docgen.cost_file_keys()}
    assert set(KEYS_OF_THIS_VERSION) <= set(keys)
    text = (DOCS / "cost-file.md").read_text(encoding="utf-8")
    for path in KEYS_OF_THIS_VERSION:
        key = keys[path]
        assert key.description, f"{path}: no description (a docstring under the field)"
        assert key.type, path
        assert key.example, f"{path}: no example (an Example: line or a value in example.yaml)"
        if "." in path or "[]" in path:  # a key inside a section: a row of its table
            assert f"| `{path}` |" in text, path
        sections = ("schema_version", "currency", "study", "mining", "processes", "systems")
        assert key.model or path in (*sections, "providers", "offers"), f"{path}: which rule?"


def test_the_reference_states_type_bounds_defaults_and_units_exactly() -> None:
    keys = {key.path: key for key in docgen.cost_file_keys()}
    assert keys["study.horizon_years"].type == "whole number ≥ 1, ≤ 50"
    assert keys["study.horizon_years"].default == "`5`"
    assert keys["study.discount_rate"].type == "number ≥ 0, ≤ 1"
    assert keys["providers[].rebate_tiers[].rebate"].type == "number ≥ 0, < 1"
    assert keys["providers[].rebate_tiers"].default == "`[{min_spend: 0.0, rebate: 0.0}]`"
    assert keys["offers[].price_per_case"].default == "required"
    assert keys["offers[].price_per_case"].unit == "currency per case"
    assert keys["offers[].it"].type == "mapping text → `takeover` | `own_platform` | `access`"
    assert keys["systems[].policy"].default == "`all_or_nothing`"
    assert keys["providers[].capacity.cases_per_year"].model == "C5"
    assert keys["couplings_override[].from"].example == "accounts_payable"
    assert keys["study.observation_period.end"].example == "2025-12-31"
    assert keys["study.inhouse_fte_cap"].example == "40"  # the docstring's Example: wins


class _Uncertainty(costfile._Strict):
    scenarios: int = 1000
    """Monte Carlo scenarios.

    Unit: count
    """
    seed: int = 7


class _NewStudy(Study):
    uncertainty: _Uncertainty | None = None
    """Uncertainty analysis."""


class _NewCostFile(CostFile):
    study: _NewStudy = _NewStudy()


def test_a_key_added_on_another_branch_appears_by_itself() -> None:
    paths = {path: field for path, field in docgen.walk(_NewCostFile)}
    assert "study.uncertainty" in paths
    assert (
        paths["study.uncertainty.scenarios"].description == "Monte Carlo scenarios.\n\nUnit: count"
    )
    assert paths["study.uncertainty.seed"].description is None  # renders with an empty description
    text, tags = docgen._split_doc(paths["study.uncertainty.scenarios"].description)
    assert (text, tags) == ("Monte Carlo scenarios.", {"Unit": "count"})
    assert docgen._type(paths["study.uncertainty"].annotation) == "mapping (keys below)"


def _slug(heading: str) -> str:
    """GitHub's anchor of a Markdown heading."""
    text = heading.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def _anchors(markdown: str) -> set[str]:
    return {_slug(m.group(1)) for m in re.finditer(r"^#{1,6} (.+)$", markdown, re.MULTILINE)}


def _tracked_files() -> list[Path]:
    try:
        listed = subprocess.run(
            ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.split()
    except (OSError, subprocess.CalledProcessError):  # not a git checkout: every file
        return [p for p in ROOT.rglob("*") if p.is_file() and ".venv" not in p.parts]
    return [ROOT / name for name in listed if (ROOT / name).is_file()]


def _texts() -> dict[Path, str]:
    out = {}
    for path in _tracked_files():
        if (
            path.suffix in {".py", ".md", ".yaml", ".yml", ".txt", ".toml", ""}
            or path.name == "Makefile"
        ):
            try:
                out[path] = path.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                continue
    return out


def test_every_link_into_docs_resolves() -> None:
    anchors = {p.name: _anchors(p.read_text(encoding="utf-8")) for p in DOCS.glob("*.md")}
    texts = _texts()
    texts[Path("costs.yaml written by bpo sample")] = demo_costs_yaml()
    found = 0
    for path, text in texts.items():
        for match in re.finditer(r"docs/([\w-]+\.md)(?:#([\w-]+))?", text):
            name, anchor = match.groups()
            found += 1
            assert name in anchors, f"{path}: {match.group(0)}: no such file"
            if anchor:
                assert anchor in anchors[name], f"{path}: {match.group(0)}: no such heading"
    for doc in DOCS.glob("*.md"):
        for match in re.finditer(r"\]\(([\w-]+\.md)?(?:#([\w-]+))?\)", doc.read_text("utf-8")):
            name, anchor = match.groups()
            target = name or doc.name
            assert target in anchors, f"{doc.name}: link {match.group(0)}"
            if anchor:
                assert anchor in anchors[target], f"{doc.name}: link {match.group(0)}"
    assert found > 50
    assert "providers" in anchors["cost-file.md"]
    assert "offerscsv" in anchors["cost-file.md"]


# Spelled in parts, so that `git grep` for them finds nothing in the repository, this file too.
OUTSIDE = ("../" + "shared", "shared" + "/datasets", "MODEL" + ".md", "SPEC" + " §", "MODEL" + " §")


@pytest.mark.parametrize("needle", OUTSIDE)
def test_nothing_points_outside_the_repository(needle: str) -> None:
    hits = [str(p.relative_to(ROOT)) for p, text in _texts().items() if needle in text]
    assert hits == [], f"{needle!r} in {hits}; point at docs/ instead"
    assert needle not in demo_costs_yaml()


def test_the_demo_cost_file_points_at_the_reference() -> None:
    assert "docs/cost-file.md" in demo_costs_yaml().splitlines()[0]


def test_results_lock_is_ignored_and_cleaned() -> None:
    assert ".results.lock" in (ROOT / ".gitignore").read_text().splitlines()
    clean = re.search(r"^clean:.*\n\t(.+)$", (ROOT / "Makefile").read_text(), re.MULTILINE)
    assert clean is not None and ".results.lock" in clean.group(1).split()
    docs = re.search(r"^docs:.*\n\t(.+)$", (ROOT / "Makefile").read_text(), re.MULTILINE)
    assert docs is not None and docs.group(1) == "$(PY) -m optimize.docgen > docs/cost-file.md"


def test_every_model_section_the_reference_links_exists() -> None:
    anchors = _anchors((DOCS / "sourcing-model.md").read_text(encoding="utf-8"))
    assert set(docgen._SECTIONS.values()) <= anchors
