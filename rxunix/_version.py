"""The package version, in one place: ``setup.py`` reads this file without importing rxunix."""

__version__ = "0.2.0"
