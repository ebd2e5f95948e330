"""The study's input files as observable source assets: the first assets of the lineage.

`event_log_files` stands for the configured event-log sources (or the demo company's log) and
`cost_file` for the cost file. Observing one hashes its files' contents (SHA-256) and records
the hash as the asset's data version; `event_log` depends on the first, `cost_model`,
`sourcing_plan`, `roadmap` and `csv_exports` on the second. So after a cost-file edit and an
observation, the Dagster UI marks those assets stale and says why ("cost_file has a new data
version"; Dagster looks one dependency back), and the automation conditions of
`dagster_project.defs.automation` re-run the optimization.

A file whose size and modification time equal the previous observation's keeps that
observation's hash unread (big logs are not read again every few minutes). A database source
(a URL) cannot be hashed; it is named in the observation and does not change its version.
"""

import hashlib
import json
import os
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import dagster as dg
from dagster._core.definitions.data_version import DATA_VERSION_TAG  # no public name for it

from dagster_project.defs.resources import BpoInputs

# Observable source assets are Dagster's way to version files it does not write; the API is
# marked beta. Said once here instead of on every load of the code location.
warnings.filterwarnings(
    "ignore",
    message="Function `observable_source_asset` is currently in beta",
    category=dg.BetaWarning,
)

EVENT_LOG_FILES = "event_log_files"
"""Key of the observable source asset of the event-log sources."""

COST_FILE = "cost_file"
"""Key of the observable source asset of the cost file."""

OBSERVE_CRON = "*/5 * * * *"
"""How often the automation sensor observes the input files (every five minutes)."""

FILES_KEY = "files"
"""Observation metadata: JSON `{path: [size, mtime_ns, sha256]}` of every hashed file."""

NOTHING = "none"
"""Data version when there is nothing to observe (no cost file, or no log beside a mined folder)."""


@dataclass(frozen=True)
class Fingerprint:
    """One observation of a set of input files.

    Attributes:
        version: The data version: the single file's SHA-256, a SHA-256 over several files'
            hashes, or `NOTHING`.
        files: Every hashed file → (size in bytes, modification time in ns, SHA-256).
        missing: Configured paths that do not exist or cannot be read.
        databases: Database sources (passwords removed), which are not hashed.
    """

    version: str
    files: Mapping[str, tuple[int, int, str]]
    missing: tuple[str, ...] = ()
    databases: tuple[str, ...] = ()


def _sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def _files_of(source: str) -> list[Path] | None:
    """The files a source consists of; None for a source that is not on this file system."""
    path = Path(source)
    if path.is_file():
        return [path]
    if path.is_dir():  # e.g. a Parquet dataset: every file below it, hidden ones excepted
        return sorted(
            p for p in path.rglob("*") if p.is_file() and not p.name.startswith((".", "~"))
        )
    if "://" in source:
        return None
    return []


def fingerprint(
    sources: Iterable[str], previous: Mapping[str, tuple[int, int, str]] | None = None
) -> Fingerprint:
    """Hash the files of some sources, reusing the previous hash of a file that did not change.

    Args:
        sources: File paths, folders, or database URLs.
        previous: `Fingerprint.files` of the previous observation: a file whose size and
            modification time are unchanged keeps its hash without being read.

    Returns:
        The observation. Several files give a SHA-256 over their sorted (path, hash) pairs.
    """
    previous = previous or {}
    files: dict[str, tuple[int, int, str]] = {}
    missing: list[str] = []
    databases: list[str] = []
    for source in sources:
        found = _files_of(source)
        if found is None:
            databases.append(_without_password(source))
            continue
        if not found:
            missing.append(source)
        for path in found:
            key = str(path.absolute())
            try:
                stat = path.stat()
                before = previous.get(key)
                if before is not None and tuple(before[:2]) == (stat.st_size, stat.st_mtime_ns):
                    digest = before[2]
                else:
                    digest = _sha256(path)
            except OSError:  # unreadable: the run that reads it says why
                missing.append(key)
                continue
            files[key] = (stat.st_size, stat.st_mtime_ns, digest)
    if len(files) == 1 and not missing:
        version = next(iter(files.values()))[2]
    elif files or missing:
        lines = [f"{p}\t{h}" for p, (_, _, h) in sorted(files.items())]
        lines += [f"{p}\tmissing" for p in sorted(missing)]
        version = hashlib.sha256("\n".join(lines).encode()).hexdigest()
    else:
        version = NOTHING
    return Fingerprint(version, files, tuple(missing), tuple(databases))


def input_sources(inputs: BpoInputs, root: str, key: str) -> list[str]:
    """What the input asset `key` observes.

    With nothing configured, the demo company's files, generated here on first use (as the run
    that reads them would; a later observation finds them). With a mined folder (`bpo optimize
    --mined`), no event log.
    """
    if key == EVENT_LOG_FILES:
        return [] if inputs.mined_folder and not inputs.sources else inputs.log_sources(root)
    path = inputs.cost_path(root)
    return [path] if path else []


def _previous_files(instance: dg.DagsterInstance, key: str) -> dict[str, tuple[int, int, str]]:
    """The `files` metadata of the asset's latest observation (empty without one)."""
    records = instance.fetch_observations(dg.AssetKey(key), limit=1).records
    if not records or records[0].asset_observation is None:
        return {}
    entry = records[0].asset_observation.metadata.get(FILES_KEY)
    if entry is None:
        return {}
    try:
        return {p: tuple(v) for p, v in json.loads(str(entry.value)).items()}
    except (ValueError, TypeError, AttributeError):
        return {}


def observation(
    instance: dg.DagsterInstance, key: str, sources: list[str]
) -> tuple[Fingerprint, dict[str, dg.MetadataValue]]:
    """Observe one input asset: its fingerprint and the metadata the UI shows.

    The hashes of files unchanged since the latest observation are taken from it.
    """
    found = fingerprint(sources, _previous_files(instance, key))
    shown = [
        f"- `{p}`: {size:,} bytes, sha256 `{h[:12]}…`" for p, (size, _, h) in found.files.items()
    ]
    shown += [f"- `{p}`: **missing**" for p in found.missing]
    shown += [f"- `{u}`: a database, not hashed" for u in found.databases]
    metadata: dict[str, dg.MetadataValue] = {
        FILES_KEY: dg.MetadataValue.text(json.dumps(found.files, sort_keys=True)),
        "sources": dg.MetadataValue.md("\n".join(shown) or "nothing configured"),
        "bytes": dg.MetadataValue.int(sum(size for size, _, _ in found.files.values())),
    }
    return found, metadata


def _observe(
    context: dg.AssetExecutionContext | dg.OpExecutionContext, key: str, inputs: BpoInputs
) -> dg.ObserveResult:
    sources = input_sources(inputs, context.instance.root_directory, key)
    found, metadata = observation(context.instance, key, sources)
    if found.missing:
        context.log.warning(f"{key}: not found: {', '.join(found.missing)}")
    return dg.ObserveResult(data_version=dg.DataVersion(found.version), metadata=metadata)


def record_observations(
    instance: dg.DagsterInstance, inputs: BpoInputs, keys: Iterable[str]
) -> None:
    """Record an observation of input assets outside a run, as their observation would.

    The CLI's runs call this before they materialize, so that the assets they materialize
    record which version of the files they were made from; the UI then shows them stale
    only after the files change.
    """
    for key in keys:
        found, metadata = observation(
            instance, key, input_sources(inputs, instance.root_directory, key)
        )
        instance.report_runless_asset_event(
            dg.AssetObservation(
                asset_key=key, metadata=metadata, tags={DATA_VERSION_TAG: found.version}
            )
        )


def _observe_condition() -> dg.AutomationCondition:
    return dg.AutomationCondition.cron_tick_passed(
        OBSERVE_CRON, cron_timezone=os.environ.get("BPO_TIMEZONE") or "UTC"
    ).with_label(f"observe on cron {OBSERVE_CRON}")


@dg.observable_source_asset(
    name=EVENT_LOG_FILES,
    group_name="inputs",
    description="The event-log files the study reads (the `inputs` resource's `sources`, or the "
    "demo company's log). Data version: the files' SHA-256.",
    automation_condition=_observe_condition(),
)
def event_log_files(context: dg.OpExecutionContext, inputs: BpoInputs) -> dg.ObserveResult:
    """Hash the configured event-log files."""
    return _observe(context, EVENT_LOG_FILES, inputs)


@dg.observable_source_asset(
    name=COST_FILE,
    group_name="inputs",
    description="The cost and offer file (the `inputs` resource's `cost_file`, or the demo "
    "company's). Data version: the file's SHA-256.",
    automation_condition=_observe_condition(),
)
def cost_file(context: dg.OpExecutionContext, inputs: BpoInputs) -> dg.ObserveResult:
    """Hash the configured cost file."""
    return _observe(context, COST_FILE, inputs)
