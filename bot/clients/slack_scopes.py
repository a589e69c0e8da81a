"""The Slack bot-token scopes the code needs: one table, read by the doctor and by the manifest test.

``METHOD_SCOPES`` maps each Web API method to the scope(s) Slack's method
reference says it needs. ``REQUIRED_SCOPES`` is what this code base calls
today; tests/test_deploy_slack.py derives the same set from the code (every
``api_call``/``client.<method>``) and keeps it, this constant and the app
manifests equal. ``minio-chatops doctor`` compares it with the scopes the
installed token was granted (``auth.test``'s ``X-OAuth-Scopes`` header).
"""

from __future__ import annotations

# Bot token scope(s) each Web API method needs. Empty: no scope.
METHOD_SCOPES: dict[str, frozenset[str]] = {
    "chat.postMessage": frozenset({"chat:write"}),
    "chat.update": frozenset({"chat:write"}),
    "chat.postEphemeral": frozenset({"chat:write"}),
    "chat.delete": frozenset({"chat:write"}),
    "chat.getPermalink": frozenset(),
    "views.open": frozenset(),
    "views.update": frozenset(),
    "views.push": frozenset(),
    "views.publish": frozenset(),  # the App Home tab
    "files.getUploadURLExternal": frozenset({"files:write"}),
    "files.completeUploadExternal": frozenset({"files:write"}),
    "files.info": frozenset({"files:read"}),
    "conversations.create": frozenset({"channels:manage"}),
    "conversations.invite": frozenset({"channels:manage"}),
    "conversations.archive": frozenset({"channels:manage"}),
    "conversations.setTopic": frozenset({"channels:manage"}),
    "conversations.setPurpose": frozenset({"channels:manage"}),
    "conversations.rename": frozenset({"channels:manage"}),
    "conversations.join": frozenset({"channels:join"}),
    # Public channels need channels:read, private ones groups:read (the doctor asks about both).
    "conversations.info": frozenset({"channels:read", "groups:read"}),
    "conversations.members": frozenset({"channels:read"}),
    "conversations.list": frozenset({"channels:read"}),
    # Both kinds of channel: a daily report may go to a private channel, and its retry reads the history.
    "conversations.history": frozenset({"channels:history", "groups:history"}),
    "conversations.replies": frozenset({"channels:history"}),
    "pins.add": frozenset({"pins:write"}),
    "pins.remove": frozenset({"pins:write"}),
    "reactions.add": frozenset({"reactions:write"}),
    "bookmarks.add": frozenset({"bookmarks:write"}),
    "usergroups.users.list": frozenset({"usergroups:read"}),
    "usergroups.list": frozenset({"usergroups:read"}),
    "users.info": frozenset({"users:read"}),
    "users.list": frozenset({"users:read"}),
    "users.lookupByEmail": frozenset({"users:read.email"}),
    "auth.test": frozenset(),
}

# A conversations method used on a private channel needs the groups:* scope instead of channels:* (the
# scope follows the channel type). The bot works in private channels it creates itself (incident
# channels), so when the code creates them every conversations method it calls needs this scope too.
PRIVATE_CHANNEL_SCOPES: dict[str, frozenset[str]] = {
    "conversations.create": frozenset({"groups:write"}),
    "conversations.invite": frozenset({"groups:write"}),
    "conversations.archive": frozenset({"groups:write"}),
    "conversations.setTopic": frozenset({"groups:write"}),
    "conversations.setPurpose": frozenset({"groups:write"}),
    "conversations.rename": frozenset({"groups:write"}),
    "conversations.info": frozenset({"groups:read"}),
    "conversations.members": frozenset({"groups:read"}),
    "conversations.list": frozenset({"groups:read"}),
    "conversations.history": frozenset({"groups:history"}),
    "conversations.replies": frozenset({"groups:history"}),
}

# Not Web API calls: the slash command itself needs `commands`; Socket Mode's
# apps.connections.open uses the app-level token (connections:write), not a bot scope.
FEATURE_SCOPES = frozenset({"commands"})

# What the bot token must hold, and what the app manifests request; for each, why.
REQUIRED_SCOPES: dict[str, str] = {
    "chat:write": "post reports, approval cards and progress",
    "files:write": "upload capacity charts",
    "channels:manage": "create incident channels and invite responders (public ones)",
    "groups:write": "create private incident channels and invite responders",
    "channels:read": "who is in a channel; the app is in each configured channel (doctor)",
    "groups:read": "who is in a private incident channel before showing its tenant; private channels (doctor)",
    "channels:history": "find a daily report already posted before retrying it",
    "groups:history": "the same in private report channels",
    "pins:write": "pin the incident summary",
    "usergroups:read": "resolve operator and approver user groups",
    "commands": "the /minio slash command",
}
