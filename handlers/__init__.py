"""Capabilities: one package per thing the bot does (facts, evaluate, present, declarations).

`CAPABILITIES` names them in the order `help` lists their verbs; the composition
root (`bot.composition`) imports each by name and includes its `capability`.
"""

CAPABILITIES = (
    "handlers.help",
    "handlers.tenants",
    "handlers.health",
    "handlers.capacity",
    "handlers.incidents",
    "handlers.runbooks",
    "handlers.daily_report",
    "handlers.scaling",
    "handlers.maintenance",
    "handlers.updates",
    "handlers.approvals",
    "handlers.alerts",
    "handlers.alertmanager",
    "handlers.data",
    "handlers.backup",
    "handlers.security",
    "handlers.perf",
    "handlers.doctor",
    "handlers.home",
)
