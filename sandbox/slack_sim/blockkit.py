"""Block Kit validation: the limits Slack enforces on messages and modals.

Problems are reported the way Slack reports them: a Slack error code (`invalid_blocks`,
`msg_blocks_too_long`, `msg_too_long`, `invalid_arguments`) plus human messages that
end in a JSON pointer, e.g. `must be less than 3001 characters [json-pointer:/blocks/0/text/text]`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MAX_BLOCKS_MESSAGE = 50
MAX_BLOCKS_VIEW = 100
MAX_SECTION_TEXT = 3000
MAX_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_HEADER_TEXT = 150
MAX_CONTEXT_ELEMENTS = 10
MAX_ACTIONS_ELEMENTS = 25
MAX_ID = 255
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_URL = 3000
MAX_ALT_TEXT = 2000
MAX_CONFIRM_TITLE = 100
MAX_CONFIRM_TEXT = 300
MAX_CONFIRM_BUTTON = 30
MAX_PLACEHOLDER = 150
MAX_OPTIONS = 100
MAX_OPTION_TEXT = 75
MAX_OPTION_VALUE = 150
MAX_INPUT_LABEL = 2000
MAX_MARKDOWN_BLOCK = 12_000
MAX_MESSAGE_TEXT = 40_000
# Slack does not document this one; long reports start failing around here.
MAX_TOTAL_BLOCK_TEXT = 13_000
MAX_VIEW_TITLE = 24
MAX_VIEW_BUTTON = 24
MAX_PRIVATE_METADATA = 3000
MAX_CALLBACK_ID = 255

BLOCK_TYPES = {
    "section", "header", "context", "actions", "divider", "image", "input",
    "rich_text", "file", "video", "markdown", "table",
}  # fmt: skip
SELECT_TYPES = {
    "static_select", "external_select", "users_select", "conversations_select", "channels_select",
    "multi_static_select", "multi_external_select", "multi_users_select",
    "multi_conversations_select", "multi_channels_select",
}  # fmt: skip
INTERACTIVE_TYPES = SELECT_TYPES | {
    "button", "overflow", "datepicker", "timepicker", "datetimepicker", "checkboxes",
    "radio_buttons", "workflow_button", "rich_text_input",
}  # fmt: skip
INPUT_ELEMENT_TYPES = INTERACTIVE_TYPES | {
    "plain_text_input", "email_text_input", "url_text_input", "number_input", "file_input",
}  # fmt: skip
ACCESSORY_TYPES = INTERACTIVE_TYPES | {"image"}


@dataclass(frozen=True)
class BlockKitError:
    """A rejected message or view: the Slack error code and the detailed problems."""

    error: str
    messages: list[str] = field(default_factory=list)

    def to_response(self) -> dict[str, Any]:
        """The `{"ok": false, ...}` body Slack answers with."""
        body: dict[str, Any] = {"ok": False, "error": self.error}
        if self.messages:
            body["errors"] = list(self.messages)
            body["response_metadata"] = {"messages": [f"[ERROR] {m}" for m in self.messages]}
        return body


class _Checker:
    """Walks a block list and collects problems with their JSON pointers."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def fail(self, message: str, pointer: str) -> None:
        self.problems.append(f"{message} [json-pointer:{pointer}]")

    def max_len(self, value: Any, limit: int, pointer: str) -> None:
        if isinstance(value, str) and len(value) > limit:
            self.fail(f"must be less than {limit + 1} characters", pointer)

    def identifier(self, obj: dict[str, Any], key: str, pointer: str) -> None:
        value = obj.get(key)
        if value is None:
            return
        if not isinstance(value, str) or not value:
            self.fail("must be a non-empty string", f"{pointer}/{key}")
        else:
            self.max_len(value, MAX_ID, f"{pointer}/{key}")

    def text_object(
        self, obj: Any, pointer: str, *, limit: int, plain_only: bool = False, required: bool = True
    ) -> None:
        if obj is None:
            if required:
                self.fail("must provide an object", pointer)
            return
        if not isinstance(obj, dict):
            self.fail("must provide an object", pointer)
            return
        kind = obj.get("type")
        allowed = {"plain_text"} if plain_only else {"plain_text", "mrkdwn"}
        if kind not in allowed:
            self.fail(f"must be one of: {', '.join(sorted(allowed))}", f"{pointer}/type")
        text = obj.get("text")
        if not isinstance(text, str):
            self.fail("must provide a string", f"{pointer}/text")
        elif not text:
            self.fail("must be more than 0 characters", f"{pointer}/text")
        else:
            self.max_len(text, limit, f"{pointer}/text")

    def confirm(self, obj: Any, pointer: str) -> None:
        if not isinstance(obj, dict):
            self.fail("must provide an object", pointer)
            return
        self.text_object(obj.get("title"), f"{pointer}/title", limit=MAX_CONFIRM_TITLE, plain_only=True)
        self.text_object(obj.get("text"), f"{pointer}/text", limit=MAX_CONFIRM_TEXT)
        self.text_object(obj.get("confirm"), f"{pointer}/confirm", limit=MAX_CONFIRM_BUTTON, plain_only=True)
        self.text_object(obj.get("deny"), f"{pointer}/deny", limit=MAX_CONFIRM_BUTTON, plain_only=True)

    def options(self, options: Any, pointer: str) -> None:
        if not isinstance(options, list):
            self.fail("must provide an array", pointer)
            return
        if len(options) > MAX_OPTIONS:
            self.fail(f"no more than {MAX_OPTIONS} items allowed", pointer)
        for i, option in enumerate(options):
            here = f"{pointer}/{i}"
            if not isinstance(option, dict):
                self.fail("must provide an object", here)
                continue
            self.text_object(option.get("text"), f"{here}/text", limit=MAX_OPTION_TEXT)
            value = option.get("value")
            if value is not None:
                self.max_len(value, MAX_OPTION_VALUE, f"{here}/value")

    def image(self, obj: dict[str, Any], pointer: str) -> None:
        if "image_url" not in obj and "slack_file" not in obj:
            self.fail("must provide either image_url or slack_file", pointer)
        self.max_len(obj.get("image_url"), MAX_URL, f"{pointer}/image_url")
        alt = obj.get("alt_text")
        if not isinstance(alt, str) or not alt:
            self.fail("missing required field: alt_text", pointer)
        else:
            self.max_len(alt, MAX_ALT_TEXT, f"{pointer}/alt_text")

    def element(self, obj: Any, pointer: str, allowed: set[str]) -> str | None:
        """Check one element; return its action_id (for duplicate detection)."""
        if not isinstance(obj, dict):
            self.fail("must provide an object", pointer)
            return None
        kind = obj.get("type")
        if kind not in allowed:
            self.fail(f"unsupported type: {kind}", f"{pointer}/type")
            return None
        self.identifier(obj, "action_id", pointer)
        if kind == "image":
            self.image(obj, pointer)
        elif kind == "button":
            self.text_object(obj.get("text"), f"{pointer}/text", limit=MAX_BUTTON_TEXT, plain_only=True)
            self.max_len(obj.get("value"), MAX_BUTTON_VALUE, f"{pointer}/value")
            self.max_len(obj.get("url"), MAX_URL, f"{pointer}/url")
            if obj.get("style") not in (None, "primary", "danger"):
                self.fail("must be one of: primary, danger", f"{pointer}/style")
        elif kind in SELECT_TYPES or kind in {"overflow", "checkboxes", "radio_buttons"}:
            if "options" in obj:
                self.options(obj["options"], f"{pointer}/options")
        if "placeholder" in obj:
            self.text_object(obj["placeholder"], f"{pointer}/placeholder", limit=MAX_PLACEHOLDER, plain_only=True)
        if "confirm" in obj:
            self.confirm(obj["confirm"], f"{pointer}/confirm")
        action_id = obj.get("action_id")
        return action_id if isinstance(action_id, str) else None

    def block(self, block: Any, pointer: str) -> str | None:
        """Check one block; return its block_id."""
        if not isinstance(block, dict):
            self.fail("must provide an object", pointer)
            return None
        kind = block.get("type")
        if kind is None:
            self.fail("missing required field: type", pointer)
            return None
        if kind not in BLOCK_TYPES:
            self.fail(f"unsupported type: {kind}", f"{pointer}/type")
            return None
        self.identifier(block, "block_id", pointer)
        getattr(self, f"_{kind}", self._opaque)(block, pointer)
        block_id = block.get("block_id")
        return block_id if isinstance(block_id, str) else None

    def _section(self, block: dict[str, Any], pointer: str) -> None:
        if "text" not in block and "fields" not in block:
            self.fail("must provide either text or fields", pointer)
        if "text" in block:
            self.text_object(block["text"], f"{pointer}/text", limit=MAX_SECTION_TEXT)
        if "fields" in block:
            fields = block["fields"]
            if not isinstance(fields, list) or not fields:
                self.fail("must provide a non-empty array", f"{pointer}/fields")
            else:
                if len(fields) > MAX_FIELDS:
                    self.fail(f"no more than {MAX_FIELDS} items allowed", f"{pointer}/fields")
                for i, item in enumerate(fields):
                    self.text_object(item, f"{pointer}/fields/{i}", limit=MAX_FIELD_TEXT)
        if "accessory" in block:
            self.element(block["accessory"], f"{pointer}/accessory", ACCESSORY_TYPES)

    def _header(self, block: dict[str, Any], pointer: str) -> None:
        self.text_object(block.get("text"), f"{pointer}/text", limit=MAX_HEADER_TEXT, plain_only=True)

    def _context(self, block: dict[str, Any], pointer: str) -> None:
        elements = block.get("elements")
        if not isinstance(elements, list) or not elements:
            self.fail("must provide a non-empty array", f"{pointer}/elements")
            return
        if len(elements) > MAX_CONTEXT_ELEMENTS:
            self.fail(f"no more than {MAX_CONTEXT_ELEMENTS} items allowed", f"{pointer}/elements")
        for i, element in enumerate(elements):
            here = f"{pointer}/elements/{i}"
            if isinstance(element, dict) and element.get("type") == "image":
                self.image(element, here)
            else:
                self.text_object(element, here, limit=MAX_SECTION_TEXT)

    def _actions(self, block: dict[str, Any], pointer: str) -> None:
        elements = block.get("elements")
        if not isinstance(elements, list) or not elements:
            self.fail("must provide a non-empty array", f"{pointer}/elements")
            return
        if len(elements) > MAX_ACTIONS_ELEMENTS:
            self.fail(f"no more than {MAX_ACTIONS_ELEMENTS} items allowed", f"{pointer}/elements")
        seen: set[str] = set()
        for i, element in enumerate(elements):
            action_id = self.element(element, f"{pointer}/elements/{i}", INTERACTIVE_TYPES)
            if action_id is not None:
                if action_id in seen:
                    self.fail(f"duplicate action_id: {action_id}", f"{pointer}/elements/{i}/action_id")
                seen.add(action_id)

    def _divider(self, block: dict[str, Any], pointer: str) -> None:
        return None

    def _image(self, block: dict[str, Any], pointer: str) -> None:
        self.image(block, pointer)
        if "title" in block:
            self.text_object(block["title"], f"{pointer}/title", limit=MAX_ALT_TEXT, plain_only=True)

    def _input(self, block: dict[str, Any], pointer: str) -> None:
        self.text_object(block.get("label"), f"{pointer}/label", limit=MAX_INPUT_LABEL, plain_only=True)
        if "element" not in block:
            self.fail("missing required field: element", pointer)
        else:
            self.element(block["element"], f"{pointer}/element", INPUT_ELEMENT_TYPES)
        if "hint" in block:
            self.text_object(block["hint"], f"{pointer}/hint", limit=MAX_INPUT_LABEL, plain_only=True)

    def _rich_text(self, block: dict[str, Any], pointer: str) -> None:
        if not isinstance(block.get("elements"), list):
            self.fail("must provide an array", f"{pointer}/elements")

    def _markdown(self, block: dict[str, Any], pointer: str) -> None:
        text = block.get("text")
        if not isinstance(text, str) or not text:
            self.fail("must provide a non-empty string", f"{pointer}/text")
        else:
            self.max_len(text, MAX_MARKDOWN_BLOCK, f"{pointer}/text")

    def _opaque(self, block: dict[str, Any], pointer: str) -> None:
        """file, video, table: accepted without a deep check."""
        return None

    def blocks(self, blocks: list[Any], max_blocks: int) -> None:
        if len(blocks) > max_blocks:
            self.fail(f"no more than {max_blocks} items allowed", "/blocks")
        seen: set[str] = set()
        for i, block in enumerate(blocks):
            block_id = self.block(block, f"/blocks/{i}")
            if block_id is not None:
                if block_id in seen:
                    self.fail(f"duplicate block_id: {block_id}", f"/blocks/{i}/block_id")
                seen.add(block_id)


def visible_text_length(value: Any) -> int:
    """Characters of every `text` string inside the blocks (what Slack counts for `msg_blocks_too_long`)."""
    if isinstance(value, list):
        return sum(visible_text_length(v) for v in value)
    if isinstance(value, dict):
        total = 0
        for key, item in value.items():
            if key == "text" and isinstance(item, str):
                total += len(item)
            else:
                total += visible_text_length(item)
        return total
    return 0


def validate_blocks(blocks: Any, *, max_blocks: int = MAX_BLOCKS_MESSAGE) -> BlockKitError | None:
    """Check a block list against Slack's per-block limits and the total size limit."""
    if not isinstance(blocks, list):
        return BlockKitError("invalid_blocks_format", ["must provide an array [json-pointer:/blocks]"])
    checker = _Checker()
    checker.blocks(blocks, max_blocks)
    if checker.problems:
        return BlockKitError("invalid_blocks", checker.problems)
    if visible_text_length(blocks) > MAX_TOTAL_BLOCK_TEXT:
        return BlockKitError("msg_blocks_too_long")
    return None


def validate_message(text: Any, blocks: Any) -> BlockKitError | None:
    """Check a message's `text` and `blocks` the way chat.postMessage does.

    `blocks=None` means "no blocks given"; an empty text with no blocks is `no_text`.
    """
    if text is not None and not isinstance(text, str):
        return BlockKitError("invalid_arguments", ["text must be a string"])
    if isinstance(text, str) and len(text) > MAX_MESSAGE_TEXT:
        return BlockKitError("msg_too_long")
    if blocks is not None:
        problem = validate_blocks(blocks)
        if problem is not None:
            return problem
    if not text and not blocks:
        return BlockKitError("no_text")
    return None


def validate_view(view: Any) -> BlockKitError | None:
    """Check a modal the way views.open does; problems come back as `invalid_arguments`."""
    if not isinstance(view, dict):
        return BlockKitError("invalid_arguments", ["must provide an object [json-pointer:/view]"])
    checker = _Checker()
    if view.get("type") not in ("modal", "home"):
        checker.fail("must be one of: modal, home", "/view/type")
    if view.get("type") == "modal":
        checker.text_object(view.get("title"), "/view/title", limit=MAX_VIEW_TITLE, plain_only=True)
    for key in ("submit", "close"):
        if key in view:
            checker.text_object(view[key], f"/view/{key}", limit=MAX_VIEW_BUTTON, plain_only=True)
    checker.max_len(view.get("private_metadata"), MAX_PRIVATE_METADATA, "/view/private_metadata")
    checker.max_len(view.get("callback_id"), MAX_CALLBACK_ID, "/view/callback_id")
    blocks = view.get("blocks")
    if not isinstance(blocks, list):
        checker.fail("must provide an array", "/view/blocks")
    else:
        sub = _Checker()
        sub.blocks(blocks, MAX_BLOCKS_VIEW)
        checker.problems.extend(p.replace("[json-pointer:/blocks", "[json-pointer:/view/blocks") for p in sub.problems)
    if checker.problems:
        return BlockKitError("invalid_arguments", checker.problems)
    return None
