"""Directly-follows maps: counted in polars, drawn with Graphviz (`dot`) as SVG and PNG.

Nodes are activities with their frequency (executions) and mean handling minutes
(`mining.handling`); edges are directly-follows steps of a case (events ordered by completion
time, stably) with their frequency and mean waiting time: from the completion of the first
activity to the start of the next (its completion where no start is recorded), floored at 0.
The start (●) and end (■) nodes count the cases that begin and end with each activity.

Large maps are cut so they stay readable: the most frequent activities (at most `max_nodes`),
then the most frequent edges among them (at most `max_edges`); the map's caption says how
many nodes and edges are shown and which share of the directly-follows steps they cover.
"""

import contextlib
import subprocess
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import polars as pl

from mining.handling import HANDLING_HOURS, add_handling, hours_mean
from pipelines.schema import ACTIVITY, CASE_ID, START_TIMESTAMP, TIMESTAMP

_US_PER_MINUTE = 60_000_000.0


@dataclass(frozen=True)
class DirectlyFollows:
    """A directly-follows graph with frequencies and times.

    Attributes:
        nodes: `activity, frequency, mean_handling_minutes` (frequency descending).
        edges: `source, target, frequency, mean_wait_minutes` (frequency descending).
        starts: `activity, cases` — cases whose first event is the activity.
        ends: `activity, cases` — cases whose last event is the activity.
        cases: Number of cases.
    """

    nodes: pl.DataFrame
    edges: pl.DataFrame
    starts: pl.DataFrame
    ends: pl.DataFrame
    cases: int


def safe_filename(name: str) -> str:
    """A file-name stem for a process name: letters (any script), digits, `-`, `_`, `.` kept.

    Everything else (path separators, quotes, spaces, control characters) becomes `_`;
    leading dots are dropped, so the stem never hides the file or leaves the folder.

    Args:
        name: Process name.

    Returns:
        A non-empty stem.
    """
    normal = unicodedata.normalize("NFC", name)
    out = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in normal).lstrip(".")
    return out or "process"


def directly_follows(log: pl.DataFrame) -> DirectlyFollows:
    """Count the directly-follows graph of a log (one process, normally).

    Args:
        log: Normalized event log; `handling_hours` is used if present, else computed with
            `mining.handling.add_handling` on this log.

    Returns:
        The DirectlyFollows graph.
    """
    if HANDLING_HOURS not in log.columns:
        log = add_handling(log)
    ordered = log.sort([CASE_ID, TIMESTAMP], maintain_order=True)
    nodes = (
        ordered.group_by(ACTIVITY)
        .agg(
            frequency=pl.len().cast(pl.Int64),
            mean_handling_minutes=hours_mean(pl.col(HANDLING_HOURS)) * 60.0,
        )
        .sort(["frequency", ACTIVITY], descending=[True, False])
    )
    same_case = pl.col(CASE_ID) == pl.col(CASE_ID).shift(1)
    wait = (
        pl.coalesce(START_TIMESTAMP, TIMESTAMP) - pl.col(TIMESTAMP).shift(1)
    ).dt.total_microseconds() / _US_PER_MINUTE
    edges = (
        ordered.with_columns(
            source=pl.col(ACTIVITY).shift(1),
            __wait=pl.max_horizontal(wait, pl.lit(0.0)),
            __same=same_case,
        )
        .filter(pl.col("__same"))
        .group_by(["source", ACTIVITY])
        .agg(frequency=pl.len().cast(pl.Int64), mean_wait_minutes=pl.col("__wait").mean())
        .rename({ACTIVITY: "target"})
        .sort(["frequency", "source", "target"], descending=[True, False, False])
    )
    per_case = ordered.group_by(CASE_ID, maintain_order=True).agg(
        first=pl.col(ACTIVITY).first(), last=pl.col(ACTIVITY).last()
    )

    def _count(col: str) -> pl.DataFrame:
        return (
            per_case.group_by(col)
            .agg(cases=pl.len().cast(pl.Int64))
            .rename({col: ACTIVITY})
            .sort(["cases", ACTIVITY], descending=[True, False])
        )

    return DirectlyFollows(nodes, edges, _count("first"), _count("last"), per_case.height)


def _esc(text: str) -> str:
    """Escape text for a double-quoted DOT string (quotes, backslashes, newlines)."""
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\r", " ").replace("\n", "\\n")


def _duration(minutes: float | None) -> str:
    if minutes is None:
        return "n/a"
    if minutes < 120:
        return f"{minutes:.1f} min"
    if minutes < 48 * 60:
        return f"{minutes / 60:.1f} h"
    return f"{minutes / 1440:.1f} d"


def to_dot(dfg: DirectlyFollows, title: str, *, max_nodes: int = 40, max_edges: int = 80) -> str:
    """Graphviz DOT source of a directly-follows map.

    Args:
        dfg: The graph.
        title: Caption (the process name); any characters.
        max_nodes: Most activities drawn (the most frequent).
        max_edges: Most edges drawn (the most frequent among the drawn activities).

    Returns:
        DOT text (UTF-8 labels, escaped).
    """
    nodes = dfg.nodes.head(max_nodes)
    kept = set(nodes[ACTIVITY].to_list())
    candidate = dfg.edges.filter(pl.col("source").is_in(kept) & pl.col("target").is_in(kept))
    edges = candidate.head(max_edges)
    total_steps = int(dfg.edges["frequency"].sum())
    shown_steps = int(edges["frequency"].sum())
    caption = f"{title} — {dfg.cases} cases"
    if nodes.height < dfg.nodes.height or edges.height < dfg.edges.height:
        share = 100.0 * shown_steps / total_steps if total_steps else 100.0
        caption += (
            f"\nshowing {nodes.height} of {dfg.nodes.height} activities, "
            f"{edges.height} of {dfg.edges.height} edges ({share:.1f} % of steps)"
        )
    ids = {a: f"n{i}" for i, a in enumerate(nodes[ACTIVITY].to_list())}
    top = max(int(nodes["frequency"].max() or 1), 1)
    top_edge = max(int(edges["frequency"].max() or 1), 1) if edges.height else 1
    lines = [
        "digraph dfg {",
        f'  graph [rankdir=TB, fontname="DejaVu Sans", labelloc=t, label="{_esc(caption)}"];',
        '  node [shape=box, style="rounded,filled", fontname="DejaVu Sans", fontsize=11];',
        '  edge [fontname="DejaVu Sans", fontsize=9];',
        '  start [label="●", shape=circle, fillcolor="#9bd39b", width=0.35, fixedsize=true];',
        '  end [label="■", shape=doublecircle, fillcolor="#f2a0a0", width=0.35, fixedsize=true];',
    ]
    for activity, freq, minutes in nodes.iter_rows():
        shade = int(235 - 120 * freq / top)
        fill = f"#{shade:02x}{shade:02x}ff"
        label = f"{activity}\n{freq}× · {_duration(minutes)}"
        lines.append(f'  {ids[activity]} [label="{_esc(label)}", fillcolor="{fill}"];')
    for activity, cases in dfg.starts.filter(pl.col(ACTIVITY).is_in(kept)).iter_rows():
        lines.append(f'  start -> {ids[activity]} [label="{cases}", style=dashed];')
    for activity, cases in dfg.ends.filter(pl.col(ACTIVITY).is_in(kept)).iter_rows():
        lines.append(f'  {ids[activity]} -> end [label="{cases}", style=dashed];')
    for source, target, freq, wait in edges.iter_rows():
        width = 1.0 + 4.0 * freq / top_edge
        label = f"{freq} · {_duration(wait)}"
        lines.append(
            f'  {ids[source]} -> {ids[target]} [label="{_esc(label)}", penwidth={width:.2f}];'
        )
    lines.append("}")
    return "\n".join(lines) + "\n"


def render(dot_source: str, fmt: str) -> bytes:
    """Run Graphviz `dot` on DOT text.

    Args:
        dot_source: DOT text.
        fmt: Output format (`svg`, `png`).

    Returns:
        The rendered bytes.

    Raises:
        RuntimeError: `dot` is not installed or fails.
    """
    try:
        done = subprocess.run(
            ["dot", f"-T{fmt}"],
            input=dot_source.encode("utf-8"),
            capture_output=True,
            check=False,
            timeout=_DOT_TIMEOUT_SECONDS,
        )
    except FileNotFoundError as exc:
        raise RuntimeError(_NO_DOT) from exc
    if done.returncode != 0:
        raise RuntimeError(f"Graphviz dot failed: {done.stderr.decode('utf-8', 'replace')}")
    return done.stdout


_DOT_TIMEOUT_SECONDS = 300
_NO_DOT = "Graphviz `dot` is not installed: install it (apt-get install graphviz) and retry"


class PendingMap:
    """A map being drawn by Graphviz `dot` in the background (SVG and PNG at once).

    Created by `start_map`; `wait` collects it (raising if `dot` failed), `cancel` stops it.
    One `dot` process lays the graph out once and writes both files itself
    (`dot -Tsvg -o… -Tpng -o…`), so the caller can do other work meanwhile.
    """

    def __init__(self, dot_source: str, svg_path: Path, png_path: Path) -> None:
        """Start one `dot` on `dot_source`, writing the SVG and the PNG file."""
        self.svg_path = svg_path
        self.png_path = png_path
        self._proc: subprocess.Popen[bytes] | None = None
        svg_path.parent.mkdir(parents=True, exist_ok=True)
        png_path.parent.mkdir(parents=True, exist_ok=True)
        self._errors: IO[bytes] | None = tempfile.TemporaryFile()  # noqa: SIM115 (see _finish)
        try:
            try:
                # `-o<path>` in one argument: a file name starting with `-` stays a file name.
                self._proc = subprocess.Popen(
                    ["dot", "-Tsvg", f"-o{svg_path}", "-Tpng", f"-o{png_path}"],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.DEVNULL,
                    stderr=self._errors,
                )
            except FileNotFoundError as exc:
                raise RuntimeError(_NO_DOT) from exc
            if self._proc.stdin is not None:  # always (stdin=PIPE); a dead `dot` shows in wait()
                with contextlib.suppress(BrokenPipeError), self._proc.stdin:
                    self._proc.stdin.write(dot_source.encode("utf-8"))
        except BaseException:
            self.cancel()
            raise

    def wait(self) -> tuple[Path, Path]:
        """Wait for the rendering.

        Returns:
            (svg_path, png_path).

        Raises:
            RuntimeError: `dot` failed or timed out (both files are removed then).
        """
        failure = None
        if self._proc is not None:
            try:
                code = self._proc.wait(timeout=_DOT_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                failure = "Graphviz dot timed out"
            else:
                if code != 0 and self._errors is not None:
                    self._errors.seek(0)
                    message = self._errors.read().decode("utf-8", "replace")
                    failure = f"Graphviz dot failed: {message}"
        if failure is not None:
            self.cancel()
            raise RuntimeError(failure)
        self._finish(remove=False)
        return self.svg_path, self.png_path

    def cancel(self) -> None:
        """Stop the rendering (if running) and remove its files; a no-op once collected."""
        started = self._proc is not None
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.kill()
            self._proc.wait()
        self._finish(remove=started)

    def _finish(self, *, remove: bool) -> None:
        if self._errors is not None:
            self._errors.close()
            self._errors = None
        if remove:
            self.svg_path.unlink(missing_ok=True)
            self.png_path.unlink(missing_ok=True)
        self._proc = None


def start_map(
    log: pl.DataFrame,
    title: str,
    svg_path: Path,
    png_path: Path,
    *,
    max_nodes: int = 40,
    max_edges: int = 80,
) -> PendingMap:
    """Count a directly-follows map and start drawing it as SVG and PNG in the background.

    Args:
        log: Normalized event log of one process.
        title: Caption (the process name).
        svg_path: Where to write the SVG.
        png_path: Where to write the PNG.
        max_nodes: Most activities drawn.
        max_edges: Most edges drawn.

    Returns:
        The running rendering; call `wait()` for the two paths.

    Raises:
        RuntimeError: `dot` is not installed.
    """
    dot_source = to_dot(directly_follows(log), title, max_nodes=max_nodes, max_edges=max_edges)
    return PendingMap(dot_source, svg_path, png_path)
