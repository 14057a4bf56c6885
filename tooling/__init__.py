"""Helpers shared by the template's tests, its benchmark and its nox sessions."""
