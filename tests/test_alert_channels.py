"""A channel that receives a tenant's alerts (`alerts_to`) sees that tenant, so the buttons on its alerts work."""

from __future__ import annotations

import yaml

from bot.access import Access
from bot.config import parse_config


def test_the_alert_channel_sees_the_tenants_whose_alerts_it_receives() -> None:
    config = parse_config(yaml.safe_dump({
        "channels": [{"id": "C0PLATFORM", "alerts_to": "C0ALERTS"}, {"id": "C0TEAM"}],
        "tenants": [
            {"name": "a", "endpoints": ["http://10.0.0.1:9000"], "channels": ["C0PLATFORM", "C0TEAM"],
             "credentials": {"access_key_env": "A", "secret_key_env": "S"}},
            {"name": "b", "endpoints": ["http://10.0.0.2:9000"], "channels": ["C0TEAM"],
             "credentials": {"access_key_env": "A", "secret_key_env": "S"}},
        ],
        "alertmanager": {"fallback_channel": "C0UNMAPPED"},
    }))
    access = Access(config)
    a, b = config.tenants
    assert access.alert_channels(a) == ["C0ALERTS", "C0TEAM"]
    assert access.can_see("C0ALERTS", a) and not access.can_see("C0ALERTS", b)
    assert access.is_alert_channel("C0ALERTS") and access.is_alert_channel("C0UNMAPPED")
    assert not access.is_alert_channel("C0TEAM")
    assert [t.name for t in access.visible_tenants("C0UNMAPPED", config.tenants)] == [], "the fallback sees none"
