"""Wires the API routers; the routers themselves live in each app's api.py."""

from cityops.api.v1 import api

__all__ = ["api"]
