"""OCEL 2.0 flattening: JSON, XML and SQLite (the latter two written by pm4py) agree."""

import gzip
import shutil
import warnings
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pipelines.errors import InputError
from pipelines.read import LogOptions, read_log
from pipelines.xes import DTD_MESSAGE

TYPES = ["Invoice", "Payment", "Purchase Order", "Purchase Requisition"]


@pytest.fixture(scope="module")
def variants(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The example as .jsonocel, and pm4py-written .xmlocel / .sqlite / .xml / .json.gz."""
    import pm4py

    tmp = tmp_path_factory.mktemp("ocel")
    source = data_dir / "ocel20_example.jsonocel"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        log = pm4py.read_ocel2_json(str(source))
        pm4py.write_ocel2_xml(log, str(tmp / "p2p.xmlocel"))
        pm4py.write_ocel2_sqlite(log, str(tmp / "p2p.sqlite"))
    shutil.copy(tmp / "p2p.xmlocel", tmp / "p2p.xml")
    json_gz = tmp / "p2p.json.gz"
    json_gz.write_bytes(gzip.compress(source.read_bytes()))
    plain = tmp / "p2p.jsonocel"
    shutil.copy(source, plain)
    return {
        "jsonocel": plain,
        "xmlocel": tmp / "p2p.xmlocel",
        "sqlite": tmp / "p2p.sqlite",
        "xml": tmp / "p2p.xml",
        "json.gz": json_gz,
    }


@pytest.mark.parametrize("variant", ["xmlocel", "sqlite", "xml", "json.gz"])
@pytest.mark.parametrize("object_type", TYPES)
def test_all_formats_flatten_equally(
    variants: dict[str, Path], object_type: str, variant: str
) -> None:
    options = LogOptions(object_type=object_type)
    reference = read_log(variants["jsonocel"], options)
    assert_frame_equal(read_log(variants[variant], options), reference, check_column_order=False)


def test_flattened_invoices(variants: dict[str, Path]) -> None:
    log = read_log(variants["jsonocel"], LogOptions(object_type="Invoice"))
    assert log.select("case_id", "activity", "process").rows() == [
        ("R1", "Insert Invoice", "Invoice"),
        ("R1", "Insert Payment", "Invoice"),
        ("R2", "Insert Invoice", "Invoice"),
        ("R2", "Insert Payment", "Invoice"),
        ("R3", "Insert Invoice", "Invoice"),
        ("R3", "Create Purchase Order", "Invoice"),
        ("R3", "Set Payment Block", "Invoice"),
        ("R3", "Remove Payment Block", "Invoice"),
        ("R3", "Insert Payment", "Invoice"),
    ]
    assert log["invoice_inserter"].drop_nulls().to_list() == ["Luke", "Luke", "Mario"]


def test_event_per_object_and_counts(variants: dict[str, Path]) -> None:
    sizes = {
        t: read_log(variants["jsonocel"], LogOptions(object_type=t))
        .select(pl.col("case_id").n_unique(), pl.len())
        .row(0)
        for t in TYPES
    }
    assert sizes == {
        "Invoice": (3, 9),
        "Payment": (3, 3),
        "Purchase Order": (2, 5),
        "Purchase Requisition": (1, 3),
    }


def test_object_type_required_and_known(variants: dict[str, Path]) -> None:
    path = variants["sqlite"]
    listing = "'Invoice', 'Payment', 'Purchase Order', 'Purchase Requisition'"
    with pytest.raises(InputError) as missing:
        read_log(path)
    assert str(missing.value) == (
        f"error: {path}: OCEL log: name the object type to flatten on with --object-type "
        f"(available: {listing})"
    )
    with pytest.raises(InputError) as unknown:
        read_log(path, LogOptions(object_type="Order"))
    assert str(unknown.value) == (
        f"error: {path}: OCEL log has no object type 'Order' (available: {listing}); "
        "fix --object-type"
    )


def test_ocel_xml_with_doctype_rejected(variants: dict[str, Path], tmp_path: Path) -> None:
    text = variants["xmlocel"].read_text()
    head, rest = text.split("\n", 1)
    path = tmp_path / "evil.xmlocel"
    path.write_text(f'{head}\n<!DOCTYPE log [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n{rest}')
    with pytest.raises(InputError) as caught:
        read_log(path, LogOptions(object_type="Invoice"))
    assert str(caught.value) == f"error: {path}:2: {DTD_MESSAGE}"


def test_plain_sqlite_file_is_not_ocel(tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite"
    pl.DataFrame({"a": [1]}).write_database("events", f"sqlite:///{path}", engine="adbc")
    with pytest.raises(InputError, match=r"is not an OCEL 2.0 log .* sqlite:///"):
        read_log(path, LogOptions(object_type="Invoice"))
