"""Database plumbing shared by every domain: declarative base, engines, sessions and migrations."""

from dockyard.db.base import Base, utcnow
from dockyard.db.engine import Database

__all__ = ["Base", "Database", "utcnow"]
