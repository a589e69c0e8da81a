"""The composition root: the framework's own capability plus the capability packages, loaded by name."""

from __future__ import annotations

import importlib

from bot import approval_engine
from bot.application import Application

CAPABILITY_PACKAGE = "handlers"


def load_application(package: str = CAPABILITY_PACKAGE) -> Application:
    """The approval engine plus every module named in ``<package>.CAPABILITIES`` (in help order).

    Each named module exposes ``capability``. Loading is by name, so nothing in
    the framework imports a capability.
    """
    app = Application()
    app.include(approval_engine.capability)
    root = importlib.import_module(package)
    for name in root.CAPABILITIES:
        app.include(importlib.import_module(name).capability)
    return app
