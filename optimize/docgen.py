"""Generate `docs/cost-file.md`, the cost-file reference, from the schema in `optimize.costfile`.

Run `python -m optimize.docgen > docs/cost-file.md` (or `make docs`) after changing the schema;
a test fails while the committed file differs from what this module writes.

Everything comes from the pydantic models: the keys (walked recursively, so a new key or
section appears by itself), their types and bounds, their defaults, and their descriptions —
the docstring under each field (`use_attribute_docstrings`). A docstring may end with lines
`Unit: …`, `Model: …` (the rule of the sourcing model the key feeds; `§N` and `CN` become
links into `docs/sourcing-model.md`) and `Example: …`; without an `Example:` line the example
is the key's value in the annotated example file `tests/data/costs/example.yaml`.
"""

import datetime as dt
import re
import sys
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import annotated_types
import yaml
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import to_jsonable_python

from optimize import costfile
from optimize.costfile import CSV_COLUMNS, CSV_INFO_COLUMNS, CostFile

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "tests" / "data" / "costs" / "example.yaml"
COMMAND = "python -m optimize.docgen > docs/cost-file.md"
MODEL_DOC = "sourcing-model.md"
_SECTIONS = {
    "1": "1-principles",
    "2": "2-facts-mined-from-the-event-log",
    "3": "3-decisions",
    "4": "4-objective-annual-cost",
    "5": "5-constraints",
    "6": "6-beyond-the-single-optimum",
    "8": "8-worked-instances",
}
_TAGS = ("Unit", "Model", "Example")


@dataclass(frozen=True)
class Key:
    """One key of the cost file, as the reference shows it.

    Attributes:
        path: Where it is written, e.g. `providers[].capacity.cases_per_year`.
        type: The value's type and bounds in words.
        default: The default, `required`, or empty when there is none.
        unit: Its unit, from the docstring.
        model: The rule of the sourcing model it feeds, from the docstring.
        description: The docstring's text.
        example: An example value (YAML).
    """

    path: str
    type: str
    default: str
    unit: str
    model: str
    description: str
    example: str


def _split_doc(doc: str | None) -> tuple[str, dict[str, str]]:
    """A field docstring as (text, {Unit/Model/Example: value})."""
    text_lines: list[str] = []
    tags: dict[str, str] = {}
    for line in (doc or "").splitlines():
        head, sep, rest = line.strip().partition(":")
        if sep and head in _TAGS:
            tags[head] = rest.strip()
        else:
            text_lines.append(line.strip())
    text = " ".join(part for part in text_lines if part)
    return text, tags


def _bounds(metadata: list[Any]) -> str:
    low = high = ""
    for item in metadata:
        if isinstance(item, annotated_types.Ge):
            low = f"≥ {_number(item.ge)}"
        elif isinstance(item, annotated_types.Gt):
            low = f"> {_number(item.gt)}"
        elif isinstance(item, annotated_types.Le):
            high = f"≤ {_number(item.le)}"
        elif isinstance(item, annotated_types.Lt):
            high = f"< {_number(item.lt)}"
        elif hasattr(item, "metadata"):
            inner = _bounds(list(item.metadata))
            if inner:
                return inner
    return ", ".join(part for part in (low, high) if part)


def _number(value: float) -> str:
    if isinstance(value, float) and value >= 1e6:
        return f"{value:.0e}".replace("e+", "e")
    return f"{value:g}" if isinstance(value, float) else str(value)


def _type(annotation: Any, metadata: list[Any] | None = None) -> str:
    """An annotation in words: `number ≥ 0, ≤ 1`, `list of text`, `mapping (below)`."""
    metadata = list(metadata or [])
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        inner, *extra = typing.get_args(annotation)
        return _type(inner, [*metadata, *extra])
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        parts = [_type(a, metadata) for a in args]
        return " or ".join(parts)
    if origin is Literal:
        return " | ".join(f"`{v}`" for v in typing.get_args(annotation))
    if origin is list:
        (item,) = typing.get_args(annotation)
        return f"list of {_plural(_type(item))}"
    if origin is tuple:
        args = [a for a in typing.get_args(annotation) if a is not Ellipsis]
        return "list of " + ", ".join(_type(a) for a in args)
    if origin is dict:
        key, value = typing.get_args(annotation)
        return f"mapping {_type(key)} → {_type(value)}"
    bounds = _bounds(metadata)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "mapping (keys below)"
    name = {
        bool: "true/false",
        int: "whole number",
        float: "number",
        str: "text",
        dt.date: "date",
    }.get(annotation, getattr(annotation, "__name__", str(annotation)))
    return f"{name} {bounds}" if bounds else name


def _plural(text: str) -> str:
    if text.startswith("mapping"):
        return "mappings" + text[len("mapping") :]
    if text in ("number", "whole number"):
        return text + "s"
    return text


def _yaml(value: Any) -> str:
    value = to_jsonable_python(value, by_alias=True)
    if value is None:
        return ""
    text = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, sort_keys=False)
    text = text.strip()
    return text[: -len("\n...")].strip() if text.endswith("\n...") else text.removesuffix("...")


def _default(field: FieldInfo) -> str:
    if field.is_required():
        return "required"
    value = field.get_default(call_default_factory=True)
    if value is None:
        return ""
    if isinstance(value, BaseModel):
        return "(the defaults below)"
    return f"`{_yaml(value)}`"


def _model_links(text: str) -> str:
    text = re.sub(
        r"§(\d+)",
        lambda m: f"[§{m.group(1)}]({MODEL_DOC}#{_SECTIONS.get(m.group(1), '')})",
        text,
    )
    return re.sub(r"\bC(\d+)\b", rf"[C\1]({MODEL_DOC}#{_SECTIONS['5']})", text)


def _inner_model(annotation: Any) -> tuple[type[BaseModel] | None, str]:
    """The model a field holds (directly, in a list, as a mapping's value), and its path suffix.

    The suffix is what its keys get in a path: `""`, `[]` or `.<name>`.
    """
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _inner_model(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            found = _inner_model(arg)
            if found[0] is not None:
                return found
        return None, ""
    if origin is list:
        model, suffix = _inner_model(typing.get_args(annotation)[0])
        return model, "[]" + suffix
    if origin is dict:
        model, suffix = _inner_model(typing.get_args(annotation)[1])
        return model, ".<name>" + suffix
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, ""
    return None, ""


def walk(model: type[BaseModel] = CostFile, prefix: str = "") -> Iterator[tuple[str, FieldInfo]]:
    """Every key of the schema, depth first, as (path, field); nested keys follow their parent.

    Args:
        model: Where to start (the whole cost file by default).
        prefix: Path of `model` itself.

    Yields:
        `(path, field)` with paths such as `providers[].capacity.cases_per_year`.
    """
    for name, field in model.model_fields.items():
        key = field.alias or name
        path = f"{prefix}.{key}" if prefix else key
        yield path, field
        inner, suffix = _inner_model(field.annotation)
        if inner is not None:
            yield from walk(inner, path + suffix)


def _example_values(data: Any, parts: list[str]) -> Iterator[Any]:
    if not parts:
        yield data
        return
    head, rest = parts[0], parts[1:]
    if head == "[]":
        if isinstance(data, list):
            for item in data:
                yield from _example_values(item, rest)
    elif head == "<name>":
        if isinstance(data, dict):
            for value in data.values():
                yield from _example_values(value, rest)
    elif isinstance(data, dict) and head in data:
        yield from _example_values(data[head], rest)


def _path_parts(path: str) -> list[str]:
    return [p for p in re.split(r"\.|(\[\])", path) if p]


def example_of(path: str, example: Any) -> str:
    """The first non-null value of `path` in the example file, as YAML ('' when absent)."""
    for value in _example_values(example, _path_parts(path)):
        if value is not None:
            if isinstance(value, dt.date):
                return value.isoformat()
            return _yaml(value)
    return ""


def cost_file_keys(example: Any = None) -> list[Key]:
    """Every key of the cost file with what the reference says about it.

    Args:
        example: The parsed example file (default: `tests/data/costs/example.yaml`).

    Returns:
        The keys in schema order, nested keys after their parent.
    """
    if example is None:
        example = yaml.load(EXAMPLE.read_text(encoding="utf-8"), Loader=costfile._Loader)
    out = []
    for path, field in walk():
        text, tags = _split_doc(field.description)
        shown = tags.get("Example") or example_of(path, example)
        out.append(
            Key(
                path=path,
                type=_type(field.annotation, list(field.metadata)),
                default=_default(field),
                unit=tags.get("Unit", ""),
                model=tags.get("Model", ""),
                description=text,
                example=shown,
            )
        )
    return out


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _code(text: str) -> str:
    if not text:
        return ""
    return f"`{text}`" if "`" not in text else f"`` {text} ``"


_INTRO = """\
# The cost file

<!-- Generated by `{command}` from the schema in optimize/costfile.py; do not edit by hand. -->

The cost/offer file (YAML, `schema_version: 1`) says what the event logs cannot: what an hour
of each role costs, what the IT systems cost, which processes are core, where their data may
go, and what the providers offer. `bpo validate --costs FILE` checks it and lists every
problem with its line; `bpo costs init --mined DIR` writes a skeleton from a `bpo mine`
folder; `bpo offers template` writes the providers' price sheet (see [offers.csv](#offerscsv)).

Reading rules:

- Unknown keys are errors (a misspelt key would otherwise fall back to its default).
- Numbers are YAML numbers, unquoted; `true`/`false` are the only booleans (`NO` is text).
- An optional key written without a value (`key:` or `key: null`) takes its default.
- Money is in the file's `currency`; rates and shares are fractions (5 % is `0.05`); times
  are hours. One-time costs are spread over the study with the capital-recovery factor
  ([§4]({model}#4-objective-annual-cost)).
- A value left as `TODO` (as `bpo costs init` writes them) is an error until it is filled in.
- Processes, systems and providers not in the file get the defaults: not core, no offers;
  system policy `all_or_nothing` and run cost 0 (with a warning).

The column *model* names the rule of the [sourcing model]({model}) the key feeds
(§ sections and constraints C1–C13).

## Example

A complete file (`tests/data/costs/example.yaml`):

```yaml
{example}```
"""

_OFFERS_CSV = """\
## offers.csv

Offers may also come as a sheet `offers.csv` beside the cost file (comma-separated, UTF-8,
header row); its rows are added to `offers`. Columns: {columns}. `it` is written
`ERP=access;OCR=takeover`; an empty cell takes the default. Problems are reported with the
sheet's line.

`bpo offers template --costs costs.yaml [--mined DIR] --out offers.csv` writes the sheet to
send to providers: one row per process and provider, with the facts a provider prices on
({info}) and the price columns left empty. These fact columns are read back and ignored; a row
whose price columns are all still empty is no offer.
"""


def render(example_text: str | None = None) -> str:
    """The whole of `docs/cost-file.md`.

    Args:
        example_text: The example file's text (default: `tests/data/costs/example.yaml`).

    Returns:
        Markdown text.
    """
    text = example_text if example_text is not None else EXAMPLE.read_text(encoding="utf-8")
    example = yaml.load(text, Loader=costfile._Loader)
    parts = [_INTRO.format(command=COMMAND, example=text, model=MODEL_DOC)]
    by_section: dict[str, list[Key]] = {}
    for key in cost_file_keys(example):
        by_section.setdefault(_path_parts(key.path)[0], []).append(key)
    for section, entries in by_section.items():
        top = entries[0]
        parts.append(f"\n## {section}\n\n")
        lines = [top.description or "", ""]
        lines += [
            f"Type: {top.type}. Default: {top.default or 'none'}."
            + (f" Model: {_model_links(top.model)}." if top.model else ""),
            "",
        ]
        rest = entries[1:]
        if rest:
            lines += [
                "| key | type | default | unit | model | description | example |",
                "|---|---|---|---|---|---|---|",
            ]
            for key in rest:
                row = (
                    f"`{key.path}`",
                    key.type,
                    key.default,
                    key.unit,
                    _model_links(key.model),
                    key.description,
                    _code(key.example),
                )
                lines.append("| " + " | ".join(_cell(c) for c in row) + " |")
            lines.append("")
        else:
            shown = _code(top.example)
            lines += [f"Example: {shown}", ""] if shown else []
        parts.append("\n".join(lines))
    parts.append(
        "\n"
        + _OFFERS_CSV.format(
            columns=", ".join(f"`{c}`" for c in CSV_COLUMNS),
            info=", ".join(f"`{c}`" for c in CSV_INFO_COLUMNS),
        )
    )
    return "".join(parts).rstrip("\n") + "\n"


def main() -> int:
    """Print the reference to standard output."""
    sys.stdout.write(render())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
