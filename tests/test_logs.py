"""Every command leaves one structured log line with its request id, outcome and time."""

from __future__ import annotations

import io
import json
import logging

import yaml

from bot.config import parse_config
from bot.logs import JsonFormatter
from bot.runtime import Runtime
from bot.shell import Shell


def test_each_command_logs_one_json_line_with_its_request_id() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("minio_chatops.dispatch")
    logger.addHandler(handler)
    old_level = logger.level
    logger.setLevel(logging.INFO)
    try:
        config = parse_config(yaml.safe_dump({"admins": ["U0ALICE"], "channels": [{"id": "C0OPS"}]}))
        shell = Shell(Runtime(config), "U0ALICE", "C0OPS", out=io.StringIO())
        assert shell.run_line("/minio help") == 0
        assert shell.run_line("/minio tenants") == 3  # no tenants here: refused, still logged
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    done = [line for line in lines if line["message"] == "command done"]
    assert [(d["verb"], d["outcome"]) for d in done] == [("help", "ok"), ("tenants", "rejected")]
    assert all(len(d["request_id"]) == 8 and d["seconds"] >= 0 for d in done)
