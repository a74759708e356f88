"""The desk pages are driven with the shared fixtures of `cityops.testing.fixtures` (one user
per role, a category, two departments); nothing is local to the desks' tests yet."""
