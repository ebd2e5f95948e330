"""The process landscape before and after a plan, rendered by Graphviz for assets and files."""

import base64
from dataclasses import dataclass, field
from typing import Any

import dagster as dg

from mining.maps import render
from optimize.instance import Instance, Plan
from optimize.landscape import landscape_dot


@dataclass(frozen=True)
class Landscape:
    """The process landscape of the status quo and of the plan, rendered by Graphviz.

    Attributes:
        files: File name under `models/` → content (`landscape_before.svg`, `.png`,
            `landscape_after.svg`, `.png`).
    """

    files: dict[str, str | bytes] = field(default_factory=dict)

    def svg(self, which: str) -> str | None:
        """The SVG text of `before` or `after`."""
        content = self.files.get(f"landscape_{which}.svg")
        return content if isinstance(content, str) else None


def render_landscape(instance: Instance, plan: Plan) -> Landscape:
    """Draw the landscape before and after `plan` (SVG and PNG each)."""
    files: dict[str, str | bytes] = {}
    for which, drawn in (("before", None), ("after", plan)):
        title = "Status quo" if drawn is None else "After the sourcing plan"
        dot = landscape_dot(instance, drawn, title)
        files[f"landscape_{which}.svg"] = render(dot, "svg").decode("utf-8")
        files[f"landscape_{which}.png"] = render(dot, "png")
    return Landscape(files)


def png_markdown(png: bytes, alt: str) -> str:
    """Markdown with an inline PNG (the Dagster UI renders it behind *[Show Markdown]*)."""
    return f"![{alt}](data:image/png;base64,{base64.b64encode(png).decode('ascii')})"


def landscape_metadata(landscape: Landscape) -> dict[str, Any]:
    """The landscape before and after as Markdown images, for the asset metadata."""
    out: dict[str, Any] = {}
    for which in ("before", "after"):
        png = landscape.files.get(f"landscape_{which}.png")
        if isinstance(png, bytes):
            out[f"landscape_{which}"] = dg.MetadataValue.md(png_markdown(png, which))
    return out
