"""Process KPIs in polars and process discovery with pm4py."""
