"""Every domain's tables, imported together so the metadata (and Alembic) sees all of them."""

from dockyard.accounts import models as accounts_models
from dockyard.db.base import Base
from dockyard.hub import community_models
from dockyard.registry import models as registry_models

__all__ = ["Base", "accounts_models", "community_models", "registry_models"]
