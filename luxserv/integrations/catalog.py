"""Every channel-manager provider by name. Each folder exposes `PROVIDER`, its `Provider` subclass."""

from __future__ import annotations

import importlib

from luxserv.core.errors import NotFound
from luxserv.integrations.base import Provider

PROVIDER_MODULES = {
    "guesty": "luxserv.integrations.guesty",
    "ownerrez": "luxserv.integrations.ownerrez",
    "hostaway": "luxserv.integrations.hostaway",
    "airbnb": "luxserv.integrations.airbnb",
}


def provider_class(name: str) -> type[Provider]:
    """The provider class for `name`, or NotFound."""
    module = PROVIDER_MODULES.get(name)
    if module is None:
        raise NotFound(f"no provider named {name!r}")
    cls: type[Provider] = importlib.import_module(module).PROVIDER
    return cls
