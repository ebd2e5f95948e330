"""What `mining.exclude_resources` removed while reading, so that a run can say so.

`pipelines.normalize` records, per source, how many events of each excluded resource it
dropped; the `event_log` asset (and `bpo validate`) take the counts after reading and print
`excluded 1,243 events by BATCH, SYSTEM`.
"""

import threading

_lock = threading.Lock()
_counts: dict[str, dict[str, int]] = {}


def record(source: str, counts: dict[str, int]) -> None:
    """Note the events dropped from one source, by resource (added to earlier counts)."""
    with _lock:
        mine = _counts.setdefault(source, {})
        for resource, n in counts.items():
            mine[resource] = mine.get(resource, 0) + n


def take(sources: list[str] | None = None) -> dict[str, int]:
    """The counts by resource over `sources` (default: all), forgotten once taken."""
    with _lock:
        keys = list(_counts) if sources is None else [s for s in sources if s in _counts]
        total: dict[str, int] = {}
        for key in keys:
            for resource, n in _counts.pop(key).items():
                total[resource] = total.get(resource, 0) + n
    return total


def message(counts: dict[str, int]) -> str | None:
    """`excluded 1,243 events by BATCH, SYSTEM`, or None when nothing was excluded."""
    events = sum(counts.values())
    if not events:
        return None
    names = ", ".join(r for r, n in sorted(counts.items()) if n)
    return f"excluded {events:,} events by {names} (mining.exclude_resources)"
