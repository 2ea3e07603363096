"""Raw-layer assets (one per feed), their expectation checks and the arrival sensor."""
