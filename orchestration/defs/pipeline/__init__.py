"""The business-date job, the nightly backstop schedule and the failure alerts."""
