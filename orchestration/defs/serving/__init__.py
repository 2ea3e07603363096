"""The serving publication for BI and the freshness checks on what it holds."""
