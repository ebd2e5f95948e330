"""Read OCEL 2.0 (JSON, XML, SQLite; also OCEL 1.0 JSON) and flatten it on one object type.

Flattening on object type T gives one case per object of type T: every event related to that
object becomes a row with `case:concept:name` = object id, `concept:name` = event type,
`time:timestamp` = event time and `process` = T; the event's attributes follow, cast to their
declared OCEL types. Events related to several objects of type T appear once per object.
Object attributes are not carried over. XML is parsed without DTDs, entities or network access.
"""

import json
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
from lxml import etree

from pipelines.errors import InputError, Problem
from pipelines.xes import reject_dtd

EID = "ocel:eid"
_STRING_TYPES = {"string", "time", "date"}


@dataclass(frozen=True)
class Ocel:
    """An OCEL 2.0 log reduced to what flattening needs.

    Attributes:
        events: `ocel:eid`, `concept:name`, `time:timestamp` (text) and event attributes
            (text), in file order.
        relations: `ocel:eid`, `ocel:oid` (event-to-object).
        objects: `ocel:oid`, `ocel:type`.
        attribute_types: Event attribute → declared OCEL type (`string`, `integer`, …).
    """

    events: pl.DataFrame
    relations: pl.DataFrame
    objects: pl.DataFrame
    attribute_types: Mapping[str, str]


def is_ocel_json(doc: Any) -> bool:
    """Whether a parsed JSON document is an OCEL 2.0 or 1.0 log."""
    return isinstance(doc, dict) and (
        ("events" in doc and ("objectTypes" in doc or "objects" in doc)) or "ocel:events" in doc
    )


def looks_like_ocel_xml(head: bytes) -> bool:
    """Whether the first bytes of an XML document are an OCEL 2.0 log (not XES)."""
    return any(tag in head for tag in (b"<object-types", b"<event-types", b"<objects"))


def parse_json(data: bytes, source: str) -> Ocel:
    """Parse OCEL 2.0 (or 1.0) JSON.

    Raises:
        InputError: Not JSON, or not an OCEL log.
    """
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        line = getattr(exc, "lineno", None)
        raise InputError(Problem(source, f"malformed JSON: {exc}", line)) from None
    if not is_ocel_json(doc):
        raise InputError(
            Problem(source, "JSON file is not an OCEL 2.0 log (no 'events' and 'objectTypes')")
        )
    if "ocel:events" in doc:
        return _from_ocel1(doc)
    types: dict[str, str] = {}
    for event_type in doc.get("eventTypes", []):
        for attribute in event_type.get("attributes", []):
            _declare(types, attribute["name"], attribute.get("type", "string"))
    events: list[dict[str, Any]] = []
    relations: list[tuple[str, str]] = []
    for event in doc["events"]:
        row = {
            EID: str(event["id"]),
            "concept:name": event["type"],
            "time:timestamp": event["time"],
        }
        for attribute in event.get("attributes", []):
            row[attribute["name"]] = attribute.get("value")
        events.append(row)
        relations.extend((row[EID], str(r["objectId"])) for r in event.get("relationships", []))
    objects = [(str(o["id"]), o["type"]) for o in doc.get("objects", [])]
    return _build(events, relations, objects, types)


def _from_ocel1(doc: dict[str, Any]) -> Ocel:
    events: list[dict[str, Any]] = []
    relations: list[tuple[str, str]] = []
    for eid, event in doc["ocel:events"].items():
        row = {
            EID: str(eid),
            "concept:name": event["ocel:activity"],
            "time:timestamp": event["ocel:timestamp"],
        }
        row.update(event.get("ocel:vmap", {}))
        events.append(row)
        relations.extend((str(eid), str(oid)) for oid in event.get("ocel:omap", []))
    objects = [(str(oid), o["ocel:type"]) for oid, o in doc.get("ocel:objects", {}).items()]
    return _build(events, relations, objects, {})


def _declare(types: dict[str, str], name: str, kind: str) -> None:
    kind = kind.lower()
    if types.get(name, kind) != kind:
        kind = "string"
    types[name] = kind


def parse_xml(data: bytes, source: str) -> Ocel:
    """Parse OCEL 2.0 XML safely (no DTD, no entities, no network).

    Raises:
        InputError: DOCTYPE present or malformed XML (with its line).
    """
    reject_dtd(data[: 1 << 16], source)
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise InputError(Problem(source, f"malformed XML: {exc.msg}", exc.lineno or None)) from None
    types: dict[str, str] = {}
    for attribute in root.iterfind("event-types/event-type/attributes/attribute"):
        _declare(types, attribute.get("name"), attribute.get("type", "string"))
    events: list[dict[str, Any]] = []
    relations: list[tuple[str, str]] = []
    for event in root.iterfind("events/event"):
        row = {
            EID: event.get("id"),
            "concept:name": event.get("type"),
            "time:timestamp": event.get("time"),
        }
        for attribute in event.iterfind("attributes/attribute"):
            row[attribute.get("name")] = attribute.text
        events.append(row)
        relations.extend(
            (row[EID], r.get("object-id")) for r in event.iterfind("objects/relationship")
        )
    objects = [(o.get("id"), o.get("type")) for o in root.iterfind("objects/object")]
    return _build(events, relations, objects, types)


def parse_sqlite(path: Path, source: str) -> Ocel:
    """Read an OCEL 2.0 SQLite database (tables `event`, `event_<type>`, `event_object`, …).

    Raises:
        InputError: Not an OCEL 2.0 SQLite file.
    """
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise InputError(Problem(source, f"cannot open SQLite file: {exc}")) from None
    try:
        tables = {r[0] for r in connection.execute("SELECT name FROM sqlite_master")}
        needed = {"event", "object", "event_object", "event_map_type"}
        if not needed <= tables:
            raise InputError(
                Problem(
                    source,
                    "SQLite file is not an OCEL 2.0 log (tables event, object, event_object, "
                    "event_map_type expected); for a plain event table use "
                    f"sqlite:///{path}?table=NAME",
                )
            )
        events: list[dict[str, Any]] = []
        types: dict[str, str] = {}
        order = {eid: i for i, (eid,) in enumerate(connection.execute("SELECT ocel_id FROM event"))}
        for event_type, suffix in connection.execute(
            "SELECT ocel_type, ocel_type_map FROM event_map_type"
        ):
            table = f"event_{suffix}"
            if table not in tables:
                continue
            cursor = connection.execute(f'SELECT * FROM "{table}"')
            names = [d[0] for d in cursor.description]
            declared = {
                r[1]: (r[2] or "").upper()
                for r in connection.execute(f'PRAGMA table_info("{table}")')
            }
            for name in names:
                if name not in ("ocel_id", "ocel_time", "ocel:activity"):
                    _declare(types, name, _SQLITE_TYPES.get(declared.get(name, ""), "string"))
            for values in cursor:
                record = dict(zip(names, values, strict=True))
                row = {
                    EID: str(record.pop("ocel_id")),
                    "concept:name": event_type,
                    "time:timestamp": record.pop("ocel_time"),
                }
                record.pop("ocel:activity", None)
                row.update(record)
                events.append(row)
        events.sort(key=lambda r: order.get(r[EID], len(order)))
        relations = [
            (str(e), str(o))
            for e, o in connection.execute("SELECT ocel_event_id, ocel_object_id FROM event_object")
        ]
        objects = [
            (str(o), t) for o, t in connection.execute("SELECT ocel_id, ocel_type FROM object")
        ]
    except sqlite3.Error as exc:
        raise InputError(Problem(source, f"cannot read SQLite file: {exc}")) from None
    finally:
        connection.close()
    return _build(events, relations, objects, types)


_SQLITE_TYPES = {"INTEGER": "integer", "REAL": "float", "TEXT": "string", "TIMESTAMP": "time"}


def _build(
    events: list[dict[str, Any]],
    relations: list[tuple[str, str]],
    objects: list[tuple[str, str]],
    types: Mapping[str, str],
) -> Ocel:
    names = list(dict.fromkeys(k for row in events for k in row))
    columns = {
        name: pl.Series(
            name, [None if (v := r.get(name)) is None else str(v) for r in events], pl.String
        )
        for name in names
    }
    frame = pl.DataFrame(list(columns.values())) if columns else pl.DataFrame()
    casts = []
    for name, kind in types.items():
        if name not in frame.columns:
            continue
        if kind in ("integer", "int"):
            casts.append(pl.col(name).cast(pl.Float64, strict=False).cast(pl.Int64, strict=False))
        elif kind == "float":
            casts.append(pl.col(name).cast(pl.Float64, strict=False))
        elif kind == "boolean":
            casts.append(pl.col(name).str.to_lowercase().is_in(["true", "1"]).alias(name))
    frame = frame.with_columns(casts)
    return Ocel(
        events=frame,
        relations=pl.DataFrame(relations, schema=[EID, "ocel:oid"], orient="row"),
        objects=pl.DataFrame(objects, schema=["ocel:oid", "ocel:type"], orient="row"),
        attribute_types=dict(types),
    )


def flatten(ocel: Ocel, object_type: str | None, source: str) -> pl.DataFrame:
    """Flatten an OCEL log on one object type into a raw event table.

    Args:
        ocel: The parsed log.
        object_type: The object type whose objects become cases.
        source: File name for messages.

    Returns:
        Raw frame (`case:concept:name`, `concept:name`, `time:timestamp`, `process`,
        `ocel:eid`, event attributes) in event order.

    Raises:
        InputError: No object type given, or it is not in the log.
    """
    available = sorted(ocel.objects.get_column("ocel:type").unique().drop_nulls().to_list())
    listing = ", ".join(repr(t) for t in available) or "none"
    if object_type is None:
        raise InputError(
            Problem(
                source,
                "OCEL log: name the object type to flatten on with --object-type "
                f"(available: {listing})",
            )
        )
    if object_type not in available:
        raise InputError(
            Problem(
                source,
                f"OCEL log has no object type '{object_type}' (available: {listing}); "
                "fix --object-type",
            )
        )
    if ocel.events.is_empty():
        return pl.DataFrame()
    chosen = ocel.objects.filter(pl.col("ocel:type") == object_type).select("ocel:oid").unique()
    cases = ocel.relations.join(chosen, on="ocel:oid").unique(maintain_order=True)
    flat = (
        ocel.events.with_row_index("_order")
        .join(cases, on=EID, maintain_order="left")
        .sort("_order", maintain_order=True)
        .drop("_order")
        .rename({"ocel:oid": "case:concept:name"})
        .with_columns(pl.lit(object_type).alias("process"))
    )
    front = ["case:concept:name", "concept:name", "time:timestamp", "process", EID]
    return flat.select(*front, *[c for c in flat.columns if c not in front])
