"""Test settings: the same settings, with a fixed test keyring and fast password hashing.

DATABASE_URL / REDIS_URL come from the environment exactly as in production, so the suite
runs against real PostgreSQL and Redis when they are set (CI) and embedded SQLite otherwise.
"""

from __future__ import annotations

import os

# A fixed, public test key (never a real one): tests must not depend on var/encryption.key.
os.environ.setdefault("ENCRYPTION_KEYS", "test1:" + "cG9seWh1bnRlci1wdWJsaWMtdGVzdC1rZXktMzJieSE=")
# Likewise a public signing key for tests against PostgreSQL, where the embedded default is refused;
# set in the environment, so the processes the tests start inherit it.
os.environ.setdefault("SECRET_KEY", "polyhunter-test-only-signing-key-never-used-in-production-0123456789")

from polyhunter.settings import *  # noqa: F403

# A per-process test database name, so parallel runs (and subprocess tests, which read the name
# from the connection) never share one.
DATABASES["default"]["TEST"] = {  # noqa: F405
    "NAME": (
        str(BASE_DIR / "var" / f"test-{os.getpid()}.sqlite3")  # noqa: F405
        if EMBEDDED  # noqa: F405
        else f"test_{DATABASES['default']['NAME']}_{os.getpid()}"  # noqa: F405
    )
}

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
AXES_ENABLED = False
