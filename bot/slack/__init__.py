"""The Slack side of the framework: Bolt wiring and the two transports (``app``), delivery with rate
limits and retries (``delivery``) and the App Home tab (``home_tab``).

Capabilities never import this package (tests/test_architecture.py checks it): they return reports and
buttons (``bot.report``, ``bot.interactions``) and send through ``bot.outbox``. What the doctor asks
Slack's Web API, and the scopes the code needs, are with the other clients (``bot.clients.slack``,
``bot.clients.slack_scopes``).
"""
