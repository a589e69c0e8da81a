"""Renderers: report models in, Block Kit or terminal text out. No network calls here."""

from bot.render.slack import SlackMessage, SlackPost, render_home, render_modal, render_slack
from bot.render.text import render_text

__all__ = ["SlackMessage", "SlackPost", "render_home", "render_modal", "render_slack", "render_text"]
