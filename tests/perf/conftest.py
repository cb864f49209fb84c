"""The desk fixtures, for performance tests of the submission path."""

from tests.desk.conftest import desk  # noqa: F401
