"""Test support shared by every test package (never imported by the application itself).

* `fixtures` — the pytest plugin with the fixtures used by the tests of more than one app
  (registered once, from the root `conftest.py`, through `pytest_plugins`);
* `square` — the API tests' one-square district: its code, points inside and outside, a case body;
* `workflow` — cases moved along the real workflow (registered, dispatched, in progress, responded);
* `shared_data` — the shared data folder (`CITYOPS_SHARED_DATA_DIR`), skipped when absent;
* `pages` — checks on rendered HTML used by more than one app's tests.

Rules: a fixture or helper used by the tests of more than one app lives here; one used by a single
app's tests stays in that app's `tests/` (fixtures in its `conftest.py`, helpers in a module not
named `test_*`). A test module never imports another test module nor a `conftest`
(`tests/tooling/test_test_support.py` checks it). Factories stay in `cityops.<app>.tests.factories`.
"""
