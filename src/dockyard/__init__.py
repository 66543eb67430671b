"""Dockyard: a self-hostable, Docker Hub-compatible container hub."""

__version__ = "0.1.0"
