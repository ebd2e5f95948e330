"""The `TODO` placeholder of a cost-file skeleton (`bpo costs init`): found and reported.

A value written `TODO` is what only the user knows (a rate, a run cost, a location). The
validator lists each one as an error with its line, instead of a type error, until it is
filled in.
"""

from collections.abc import Iterator
from typing import Any

TODO = "TODO"
"""The placeholder `bpo costs init` writes for what only the user knows."""

DOCS = "docs/cost-file.md"
"""The cost-file reference, for links in messages and in the skeleton."""

Loc = tuple[str | int, ...]


def todo_locations(data: Any, loc: Loc = ()) -> Iterator[Loc]:
    """Where a parsed cost file still holds the `TODO` placeholder (a value or a list item).

    Args:
        data: The parsed YAML document.
        loc: Location of `data` (for recursion).

    Yields:
        YAML locations such as `("roles", 0, "cost_per_hour")`.
    """
    if isinstance(data, str) and data.strip() == TODO:
        yield loc
    elif isinstance(data, dict):
        for key, value in data.items():
            yield from todo_locations(value, (*loc, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from todo_locations(value, (*loc, index))


def todo_message(loc: Loc) -> str:
    """What to do about one `TODO`, with the link to its section of the reference."""
    section = str(loc[0]) if loc else ""
    return f"still TODO; fill in the value (see {DOCS}#{section})"
