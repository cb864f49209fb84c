"""Typed errors of the product registry (problem+json with a stable `code`)."""

from __future__ import annotations

from app.kit.errors import Conflict, ValidationFailed


class UnsupportedVersion(ValidationFailed):
    """The version is known and out of support (seed 002: 180 days after the next release)."""

    code = "unsupported_version"


class UnknownVersion(ValidationFailed):
    """The product is registered but this version of it is not."""

    code = "unknown_version"


class ProductExists(Conflict):
    code = "product_exists"


class VersionExists(Conflict):
    code = "version_exists"
