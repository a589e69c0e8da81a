"""The /minio parser: every input gets a Command or a short, safe error; nothing else."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.commands import MAX_COMMAND_CHARS, UNREADABLE, Command, UsageError
from bot.composition import load_application
from bot.render.inline import to_mrkdwn

registry = load_application().registry


def parse(text: str) -> Command | UsageError:
    return registry.parse(text)


def test_empty_text_means_help() -> None:
    result = parse("")
    assert isinstance(result, Command) and result.verb.name == "help"


def test_verb_and_argument() -> None:
    result = parse("help tenants")
    assert isinstance(result, Command)
    assert result.args.model_dump() == {"verb": "tenants"}


def test_quoted_arguments_stay_together() -> None:
    result = parse('help "tenants"')
    assert isinstance(result, Command) and result.args.model_dump() == {"verb": "tenants"}
    smart = parse("help \u201ctenants\u201d")
    assert isinstance(smart, Command) and smart.args.model_dump() == {"verb": "tenants"}


def test_unknown_verb_suggests_the_closest() -> None:
    result = parse("tenats")
    assert isinstance(result, UsageError)
    assert "Unknown command `tenats`" in result.message and "Did you mean `tenants`?" in result.message


def test_too_long_input_is_refused() -> None:
    result = parse("help " + "x" * MAX_COMMAND_CHARS)
    assert isinstance(result, UsageError) and "too long" in result.message


@pytest.mark.parametrize("text", ["help\x00", "tenants\x1b[31m", "help \u202egnp"])
def test_control_characters_are_refused(text: str) -> None:
    result = parse(text)
    assert isinstance(result, UsageError) and "control characters" in result.message


def test_apostrophes_are_not_quotes() -> None:
    result = parse("help can't")
    assert isinstance(result, Command) and result.args.model_dump() == {"verb": "can't"}


def test_unbalanced_quotes() -> None:
    result = parse('help "tenants')
    assert isinstance(result, UsageError) and "quotes" in result.message


def test_extra_words_are_refused_with_usage() -> None:
    result = parse("tenants everything now")
    assert isinstance(result, UsageError)
    assert "Unexpected" in result.message and "/minio tenants" in result.message


def test_unknown_option() -> None:
    result = parse("tenants --force")
    assert isinstance(result, UsageError) and "no option `--force`" in result.message


@pytest.mark.parametrize(
    "evil",
    [
        "<!channel>", "<!here|here>", "<@U0ALICE>", "@channel", "@here", "<https://evil.example|click>",
        "&lt;!everyone&gt;",
    ],
)
def test_echoed_user_text_cannot_mention_or_link(evil: str) -> None:
    result = parse(f"{evil}")
    assert isinstance(result, UsageError)
    message = to_mrkdwn(result.text)  # what Slack receives
    assert "<!" not in message and "<@" not in message and "<http" not in message
    assert "@channel" not in message and "@here" not in message


def test_plain_text_is_escaped_by_the_renderer_even_outside_spans() -> None:
    shown = to_mrkdwn("ping <!channel> <@U0ALICE> @here & `x`")
    assert "<!" not in shown and "<@" not in shown and "@here" not in shown and "`" not in shown
    assert "&amp;" in shown


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=2500))
def test_parser_is_total(text: str) -> None:
    """Below the safety net: any text is a Command or a UsageError, and the parser itself never raises."""
    result = registry.parse_strict(text)
    assert isinstance(result, Command | UsageError)
    assert not (isinstance(result, UsageError) and result.message == UNREADABLE)
    if isinstance(result, UsageError):
        shown = to_mrkdwn(result.text)
        assert shown and len(shown) < 1200
        assert "<!" not in shown and "<@" not in shown


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.sampled_from(["help", "tenants", "--x", "'", '"', "health", "<!channel>", " ", "--verb=a"]), max_size=8)
)
def test_parser_is_total_on_command_like_input(words: list[str]) -> None:
    assert isinstance(registry.parse_strict(" ".join(words)), Command | UsageError)
