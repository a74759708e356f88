"""A test-only app that plugs in one menu entry, one permission, one job and one hook, with
nothing edited outside itself (`test_plugins.py` installs it)."""
