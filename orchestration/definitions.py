"""Entry point for ``dagster dev`` / the webserver: ``dagster dev -m orchestration.definitions``.

Settings come from the environment (``CLIENTMART_*``, see clientmart/settings.py), the same
ones ``clientmart run`` uses, so the UI shows the CLI's runs and data.
"""

from clientmart.settings import Settings
from orchestration.build import build_definitions

defs = build_definitions(Settings())
