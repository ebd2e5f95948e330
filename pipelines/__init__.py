"""Reading event-log sources into the normalized polars event log, and the demo company."""
