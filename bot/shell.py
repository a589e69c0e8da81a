"""The terminal shell: the same registry, access rules and handlers as Slack, printed as text.

It is the operators' fallback when Slack is down and a newcomer's first contact.
Exit code of a one-shot `-c` command: 0 healthy, 1 degraded, 2 unhealthy,
3 refused or failed, 64 bad input.
"""

from __future__ import annotations

import sys
from typing import TextIO

from bot.application import Application
from bot.commands import UsageError
from bot.composition import load_application
from bot.dispatch import Dispatcher
from bot.render import render_text
from bot.runtime import Runtime

EXIT_USAGE = 64


class Shell:
    """Runs `/minio ...` lines as one user in one channel."""

    def __init__(
        self, runtime: Runtime, user: str, channel: str, out: TextIO | None = None,
        application: Application | None = None,
    ):
        # A shell is another process beside the bot (often exec'd into its pod): it never closes or resumes
        # the bot's executions, whatever their leases say. That is the leader's job alone.
        runtime.recovers = False
        self.dispatcher = Dispatcher(runtime, application or load_application())
        self.user = user
        self.channel = channel
        self.out = out or sys.stdout

    def run_line(self, line: str) -> int:
        """Run one command line, print the result, return its exit code."""
        parsed = self.dispatcher.parse(line)
        if isinstance(parsed, UsageError):
            self.out.write(f"error: {parsed.message}\n")
            return EXIT_USAGE

        def progress(text: str) -> None:
            self.out.write(f"... {text}\n")
            self.out.flush()

        report = self.dispatcher.run(self.user, self.channel, parsed, progress=progress)
        self.out.write(render_text(report))
        self.out.flush()
        return report.exit_code

    def interactive(self, stdin: TextIO | None = None) -> int:
        """A read-eval-print loop until EOF or `exit`."""
        stdin = stdin or sys.stdin
        self.out.write(f"minio-chatops shell as {self.user} in {self.channel}. Type /minio help, or exit.\n")
        code = 0
        while True:
            self.out.write("minio> ")
            self.out.flush()
            line = stdin.readline()
            if not line or line.strip() in ("exit", "quit"):
                self.out.write("\n")
                return code
            if line.strip():
                code = self.run_line(line.strip())
