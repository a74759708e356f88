"""Tests of minute-long rate limits pin django-ratelimit's clock, so a window that happens
to end halfway through a test cannot reset the count and let the refusal slip."""

from contextlib import contextmanager
from types import SimpleNamespace
from unittest import mock

from django_ratelimit import core

# A fixed instant well inside one window of every period the defaults use.
FROZEN = 1_800_000_000.0


@contextmanager
def frozen_ratelimit_clock(at: float = FROZEN):
    with mock.patch.object(core, "time", SimpleNamespace(time=lambda: at)):
        yield
