"""Real public bank data delivered under the landing contract."""
