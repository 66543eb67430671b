"""Every domain's tables, imported together so the metadata (and Alembic) sees all of them."""

from dockyard.accounts import access_tokens as access_token_models
from dockyard.accounts import models as accounts_models
from dockyard.accounts import models_people as people_models
from dockyard.accounts import sessions as session_models
from dockyard.accounts import twofactor as twofactor_models
from dockyard.analytics import models as analytics_models
from dockyard.db.base import Base
from dockyard.hub import community_models
from dockyard.hub import models as hub_models
from dockyard.registry import models as registry_models

__all__ = [
    "Base",
    "access_token_models",
    "accounts_models",
    "analytics_models",
    "community_models",
    "hub_models",
    "people_models",
    "registry_models",
    "session_models",
    "twofactor_models",
]
