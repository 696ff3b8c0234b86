"""Errors that end as a readable message for the user and a `failed` status in the catalog."""


class E3Error(Exception):
    """Base class for every error E3 reports to a user in one line."""


class ConfigError(E3Error):
    """A setting is missing or wrong."""


class CatalogUnavailable(E3Error):
    """The catalog database cannot be reached."""
