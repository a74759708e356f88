"""Password hashing: Argon2id with parameters chosen by measurement (docs/security.md).

Django's own Argon2 hasher asks for 100 MiB, 2 passes and 8 lanes per hash: on the 2-core
servers a district runs on, a quarter of a second of CPU per sign-in and 8 threads fighting for
2 cores (≈ 0.8 s per sign-in while the machine is busy). These are OWASP's first recommended
Argon2id parameters — 46 MiB, 1 pass, 1 lane — measured at ≈ 70 ms of CPU per hash here, so a
sign-in stays well under a second even on a loaded machine while every guess still costs an
attacker 46 MiB of memory.

The algorithm name stays "argon2", so hashes made with other Argon2 parameters still verify and
are re-hashed with these at the next sign-in, like the PBKDF2 hashes of older installations.
"""

from __future__ import annotations

from django.contrib.auth.hashers import Argon2PasswordHasher


class Argon2idHasher(Argon2PasswordHasher):
    time_cost = 1
    memory_cost = 47104  # KiB = 46 MiB
    parallelism = 1
