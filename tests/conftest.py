"""Makes ``tests`` importable as a package from any test directory.

pytest (rootdir-relative "prepend" imports) puts the first directory above a
conftest that has no ``__init__.py`` on sys.path: for this file, inside the
``tests`` package, that is the repository root. So ``from tests.integration.harness
import ...`` and ``from tests.unit.filter import ...`` work even when only
tests/unit is collected.
"""
