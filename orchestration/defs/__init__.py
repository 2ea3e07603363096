"""Dagster definitions, one subfolder per system (ingest, dbt, serving, pipeline)."""
