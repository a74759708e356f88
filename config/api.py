"""Wires the API routers; the routers themselves live in each app's api.py."""

from cityops.api.v1 import api
from cityops.ops import dbfailure

# A database outage answers 503 on the API too (ninja would turn it into a 500).
dbfailure.install()

__all__ = ["api"]
