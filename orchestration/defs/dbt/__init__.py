"""The dbt project's models, seeds and snapshots as Dagster assets."""
