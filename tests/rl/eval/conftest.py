"""Evaluation tests never reach the hub: a suite whose local copy is missing must fail offline, in seconds."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def hub_offline(monkeypatch):
    """The hub's offline switch as HF_HUB_OFFLINE=1 sets it at import (read again at every call)."""
    import datasets.config
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
