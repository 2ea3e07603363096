"""The serving layer: the read-only copy of the marts that BI tools open, and its exports."""
