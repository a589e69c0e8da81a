"""The Slack side of the framework: Bolt wiring and the two transports (``app``), delivery with rate
limits and retries (``delivery``), the App Home tab (``home_tab``), the scopes the code needs
(``scopes``) and what the doctor asks Slack about the installation (``probe``).

Capabilities do not talk to Slack: they return reports and buttons (``bot.report``, ``bot.interactions``)
and send through ``bot.outbox``. Only the doctor reads ``scopes`` and ``probe``, to check an installation.
"""
