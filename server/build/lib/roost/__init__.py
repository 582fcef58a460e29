"""Roost: a person's own mail server."""

__version__ = "0.1.0"
