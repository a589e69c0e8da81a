"""Capabilities: one package (today still partly one module) per thing the bot does.

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
    "handlers.reports",
    "handlers.scaling",
    "handlers.maintenance",
    "handlers.updates",
    "handlers.approvals",
    "handlers.remediation",
    "handlers.alerts",
    "handlers.alertmanager",
)
