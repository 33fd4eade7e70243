"""Makes ``tests`` importable as a package from any test directory.

pytest (rootdir-relative "prepend" imports) puts the first directory above a
conftest that has no ``__init__.py`` on sys.path: for this file, inside the
``tests`` package, that is the repository root. So ``from tests.integration.harness
import ...`` and ``from tests.unit.filter import ...`` work even when only
tests/unit is collected.

It also keeps what the tests run out of the user's own cache directory.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True, scope="session")
def private_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    # pyss caches filter parses under XDG_CACHE_HOME; the CLIs the tests start inherit this.
    path = tmp_path_factory.mktemp("xdg-cache")
    previous = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(path)
    yield path
    if previous is None:
        del os.environ["XDG_CACHE_HOME"]
    else:
        os.environ["XDG_CACHE_HOME"] = previous
