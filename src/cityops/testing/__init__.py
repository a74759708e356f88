"""Test support shared by every test package (never imported by the application itself).

* `fixtures` — the pytest plugin with the fixtures used by the tests of more than one app
  (registered once, from the root `conftest.py`, through `pytest_plugins`);
* `square` — the API tests' one-square district: its code, points inside and outside, a case body;
* `workflow` — cases moved along the real workflow (registered, dispatched, in progress, responded);
* `shared_data` — the shared data folder (`CITYOPS_SHARED_DATA_DIR`), skipped when absent;
* `pages` — checks on rendered HTML used by more than one app's tests.

Rules: a fixture used by the tests of more than one app is defined once, in `fixtures`; a conftest
keeps only what is local to its package. Helpers live in modules not named `test_*`: here when
several apps' tests use them, else in the app's `tests/support.py`; the factories
(`cityops.<app>.tests.factories`) and the API test clients (`cityops.api.tests.client`,
`keyclient`, `service_accounts`) stay with their apps. A test module never imports another test
module nor a `conftest` (`tests/tooling/test_test_support.py` checks it).
"""
