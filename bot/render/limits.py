"""Slack's Block Kit limits: the one place that knows them (see slack-facts.md)."""

MAX_BLOCKS = 50
VIEW_BLOCKS = 100  # a Home tab or modal
MODAL_TITLE = 24
SECTION_TEXT = 3000
FIELD_TEXT = 2000
MAX_FIELDS = 10
HEADER_TEXT = 150
CONTEXT_ELEMENTS = 10
ACTIONS_ELEMENTS = 25
ID_CHARS = 255
BUTTON_TEXT = 75
BUTTON_VALUE = 2000
CONFIRM_TITLE = 100
CONFIRM_TEXT = 300
CONFIRM_BUTTON = 30
MESSAGE_TEXT = 4000  # Slack truncates at 40,000; keep the fallback text short
# Messages whose blocks add up to about 13k characters fail with msg_blocks_too_long;
# stay well below so a report never bounces.
MESSAGE_BLOCK_CHARS = 11000
