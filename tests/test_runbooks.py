"""`/minio runbook`: interactive checklists from `runbooks/`, with stored checks and resumable runs."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from bot.commands import Command
from bot.composition import load_application
from bot.outbox import TerminalOutbox
from bot.render import render_slack
from bot.report import Report
from handlers.runbooks import (
    GROUPS,
    RunbookError,
    daily_checklist,
    fill_command,
    load_runbooks,
    parse_runbook,
)
from sandbox.minio_sim import SimCluster
from sandbox.slack_sim import SlackSim
from tests.fixtures.bot import BotFactory
from tests.reading import plain, report_text
from tests.test_incident_env import (
    ALICE,
    BOB,
    CAROL,
    ELSEWHERE,
    OPS,
    Env,
    EnvFactory,
    button,
    start_bot,
    tenant_doc,
    wait_ephemeral,
    wait_message,
)

# Verbs the runbooks may name (the design's command surface); those registered must parse.
DESIGN_VERBS = {
    "help",
    "tenants",
    "health",
    "capacity",
    "scale",
    "maintenance",
    "update",
    "incident",
    "runbook",
    "report",
    "approvals",
    "audit",
}

# Fixtures shared by the incident and runbook tests (make_env, full_env, static_env, demo_cluster, ...).
pytest_plugins = ["tests.test_incident_env"]


def posted(env: Env) -> list[tuple[str, str, Report, str | None]]:
    return env.outbox.posted


def checklist_of(env: Env) -> tuple[str, str, Report]:
    """The last checklist the outbox posted or updated: (channel, ts, report)."""
    for channel, ts, report, _thread in reversed(posted(env)):
        if report.title.startswith("Runbook:"):
            return channel, ts, report
    raise AssertionError("no checklist posted")


def action_ids(report: Report) -> list[str]:
    return [a.action_id for s in report.sections for a in s.actions]


# ---------------------------------------------------------------- the files


def test_every_runbook_parses_fits_one_slack_message_and_names_real_commands() -> None:
    from datetime import UTC, datetime

    from bot.store import RunbookRun
    from handlers.runbooks import checklist_report

    books = load_runbooks()
    registry = load_application().registry
    assert {b.group for b in books.values()} == set(GROUPS)
    for key, book in books.items():
        assert book.steps, key
        run = RunbookRun(id=10**9, runbook=key, channel="C1", message_ts=None, started_by="U0ALICE",
                         started_at=datetime.now(UTC), finished_at=None)
        assert render_slack(checklist_report(book, run, "t" * 63)).thread == [], f"{key} is one message"
        for step in book.steps:
            if step.command is None:
                continue
            command = fill_command(step.command, "demo")
            assert command is not None
            verb = command.split()[1]
            assert verb in DESIGN_VERBS, f"{key} step {step.number} names unknown verb {verb}"
            if registry.get(verb) is not None:
                assert isinstance(registry.parse(command), Command), f"{key} step {step.number}: {command}"


def test_a_checklist_longer_than_a_message_continues_in_its_thread_with_every_step_and_button() -> None:
    from datetime import UTC, datetime

    from bot.store import RunbookRun
    from handlers.runbooks import checklist_report

    command = " `/minio incident security {tenant}`"
    text = "# Long\n\n" + "".join(
        f"- [ ] {f'Step {i}: check something important carefully ' * 10}{command}\n" for i in range(40)
    )
    book = parse_runbook("long", "weekly", text)
    assert len(book.steps) == 40 and book.steps[-1].command == "/minio incident security {tenant}"
    run = RunbookRun(
        id=10**9,
        runbook="long",
        channel="C1",
        message_ts=None,
        started_by="U0ALICE",
        started_at=datetime.now(UTC),
        finished_at=None,
    )
    post = render_slack(checklist_report(book, run, "t" * 63))
    messages = [post.head, *post.thread]
    assert post.thread and all(len(m.blocks) <= 50 for m in messages)
    shown = json.dumps([m.blocks for m in messages])
    assert all(shown.count(f'"rb-check:{run.id}:{n}"') == 1 for n in range(1, 41))


def test_bad_runbooks_are_refused() -> None:
    with pytest.raises(RunbookError, match="no - \\[ \\] steps"):
        parse_runbook("empty", "daily", "# Empty\n\nJust prose.\n")


def test_a_runbooks_folder_can_be_configured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for group in GROUPS:
        (tmp_path / group).mkdir()
    (tmp_path / "daily" / "ours.md").write_text("# Ours\n\n- [ ] Look at `/minio tenants`\n")
    monkeypatch.setenv("MINIO_CHATOPS_RUNBOOKS", str(tmp_path))
    books = load_runbooks()
    assert list(books) == ["daily/ours", "ours"] and books["ours"].steps[0].command == "/minio tenants"


def test_tenant_placeholders() -> None:
    assert fill_command("/minio health {tenant}", "demo") == "/minio health demo"
    assert fill_command("/minio health {tenant}", None) == "/minio health"
    assert fill_command("/minio update {tenant} check", None) is None
    book = parse_runbook("x", "daily", "- [ ] Resolve: `/minio incident resolve <summary>`\n- [ ] `/minio tenants`\n")
    assert book.steps[0].command is None and book.steps[1].command == "/minio tenants"


# ---------------------------------------------------------------- runs, checks, resume (dispatcher level)


def test_runbook_alone_lists_the_runbooks(static_env: Env) -> None:
    report = static_env.run("runbook")
    assert report.ephemeral and "`daily`" in report_text(report) and "`emergency`" in report_text(report)


def test_a_run_stores_who_checked_what_and_finishes_when_every_step_is_checked(
    make_env: EnvFactory, tmp_path: Path, demo_cluster: SimCluster, store_url: str
) -> None:
    env = make_env([tenant_doc(tmp_path, demo_cluster)], store_url=store_url)
    answer = env.run("runbook daily demo")
    assert not answer.failed and "run #" in answer.summary
    channel, ts, checklist = checklist_of(env)
    assert channel == OPS and checklist.title == "Runbook: Daily checks (demo)"
    run_id = int(action_ids(checklist)[0].split(":")[1])
    assert f"run:{run_id}:1" in action_ids(checklist)
    assert next(a for s in checklist.sections for a in s.actions if a.action_id == f"run:{run_id}:1").value == (
        "/minio health demo"
    )

    result = env.click(BOB, OPS, ts, f"rb-check:{run_id}:2")
    assert result.update is not None and result.ephemeral is None
    assert "checked by @U0BOB" in " ".join(plain(line) for line in result.update.sections[1].lines)
    assert f"rb-check:{run_id}:2" not in action_ids(result.update)
    again = env.click(CAROL, OPS, ts, f"rb-check:{run_id}:2")
    assert again.ephemeral is not None and "already checked by @U0BOB" in plain(again.ephemeral.summary)

    run = env.runtime.store.runbooks.get(run_id)
    assert run is not None and [(c.step, c.checked_by) for c in run.checks] == [(2, BOB)]
    for step in range(1, 7):
        last = env.click(ALICE, OPS, ts, f"rb-check:{run_id}:{step}")
    assert last.update is not None and "completed" in plain(last.update.summary)
    finished = env.runtime.store.runbooks.get(run_id)
    assert finished is not None and finished.finished_at is not None and len(finished.checks) == 6


def test_resume_reposts_the_run_where_it_stands_and_only_in_its_channel(static_env: Env) -> None:
    static_env.run("runbook weekly demo")
    _channel, ts, checklist = checklist_of(static_env)
    run_id = int(action_ids(checklist)[0].split(":")[1])
    static_env.click(BOB, OPS, ts, f"rb-check:{run_id}:1")
    answer = static_env.run(f"runbook resume {run_id}")
    assert not answer.failed
    _channel, new_ts, resumed = checklist_of(static_env)
    assert new_ts != ts and "checked by @U0BOB" in " ".join(plain(line) for line in resumed.sections[0].lines)
    elsewhere = static_env.run(f"runbook resume {run_id}", channel=ELSEWHERE)
    assert elsewhere.failed and f"no runbook run #{run_id} in this channel" in elsewhere.summary
    missing = static_env.run("runbook resume 999")
    assert missing.failed


def test_runbook_refuses_unknown_names_and_tenants_the_channel_cannot_see(static_env: Env) -> None:
    assert "No runbook `nightly`" in plain(static_env.run("runbook nightly").summary)
    assert "not visible in this channel" in plain(static_env.run("runbook daily demo", channel=ELSEWHERE).summary)
    assert "Unknown tenant" in plain(static_env.run("runbook daily nope").summary)


def test_a_check_from_another_channel_or_for_an_unknown_run_is_refused(static_env: Env) -> None:
    static_env.run("runbook daily")
    _channel, ts, checklist = checklist_of(static_env)
    run_id = int(action_ids(checklist)[0].split(":")[1])
    result = static_env.click(ALICE, ELSEWHERE, ts, f"rb-check:{run_id}:1")
    assert result.update is None and result.ephemeral is not None
    assert static_env.click(ALICE, OPS, ts, "rb-check:999:1").ephemeral is not None
    assert static_env.click(ALICE, OPS, ts, f"rb-check:{run_id}:99").ephemeral is not None


def test_without_a_tenant_commands_cover_the_channel_and_those_needing_one_have_no_run_button(
    static_env: Env,
) -> None:
    static_env.run("runbook weekly")
    _channel, _ts, checklist = checklist_of(static_env)
    runs = {a.action_id.split(":")[2]: a.value for s in checklist.sections for a in s.actions if a.label == "Run"}
    assert runs["1"] == "/minio capacity"
    assert "2" not in runs  # `/minio update {tenant} check` needs a tenant
    assert "Needs a tenant" in " ".join(plain(line) for line in checklist.sections[1].lines)


def test_the_scheduler_can_post_the_daily_checklist(static_env: Env) -> None:
    outbox = TerminalOutbox(out=io.StringIO())
    ts = daily_checklist(static_env.runtime, OPS, outbox)
    channel, posted_ts, report, _thread = outbox.posted[-1]
    assert (channel, posted_ts) == (OPS, ts) and report.title == "Runbook: Daily checks"
    assert "started by the scheduler" in plain(report.summary)


# ---------------------------------------------------------------- Slack end to end


def test_in_slack_check_updates_the_checklist_in_place_and_run_answers_in_its_thread(
    bot_factory: BotFactory, slack_sim: SlackSim, tmp_path: Path, demo_cluster: SimCluster
) -> None:
    running = start_bot(bot_factory, slack_sim, tmp_path, [tenant_doc(tmp_path, demo_cluster)])
    assert running.slash(BOB, OPS, "runbook emergency demo").ok
    wait_ephemeral(slack_sim, OPS, BOB, "Posted the checklist")
    checklist = wait_message(slack_sim, OPS, "rb-check:")
    driver = slack_sim.driver(events_url=running.events_url)

    check = button(checklist, "Check", 3)
    assert driver.click(CAROL, OPS, checklist.ts, check["action_id"], check["value"]).ok
    updated = slack_sim.wait_for(
        lambda: next((m for m in slack_sim.messages(OPS) if m.ts == checklist.ts and m.edited), None), timeout=10
    )
    assert updated is not None
    assert "checked by <@U0CAROL>" in json.dumps(updated.blocks)
    assert check["action_id"] not in json.dumps(updated.blocks)

    run = button(checklist, "Run", 8)
    assert driver.click(CAROL, OPS, checklist.ts, run["action_id"], run["value"]).ok
    reply = slack_sim.wait_for(
        lambda: next((m for m in slack_sim.thread(OPS, checklist.ts)[1:] if "security on demo" in m.text), None),
        timeout=20,
    )
    assert reply is not None
    assert reply.thread_ts == checklist.ts
    assert demo_cluster.secret_key not in json.dumps(slack_sim.state()["channels"])


# ---------------------------------------------------------------- resume without a run id


def test_resume_alone_reposts_the_newest_unfinished_run_of_this_channel(static_env: Env) -> None:
    store = static_env.runtime.store.runbooks
    static_env.run("runbook weekly demo")
    weekly_id = int(action_ids(checklist_of(static_env)[2])[0].split(":")[1])
    static_env.run("runbook daily")
    daily_id = int(action_ids(checklist_of(static_env)[2])[0].split(":")[1])
    elsewhere = store.start("daily", channel=ELSEWHERE, started_by=ALICE)  # newer, but another channel's

    answer = static_env.run("runbook resume")
    assert not answer.failed and f"run #{daily_id}" in answer.summary
    assert action_ids(checklist_of(static_env)[2])[0].startswith(f"rb-check:{daily_id}:")

    # A finished run is not resumed: the next newest open one is.
    assert store.finish(daily_id)
    answer = static_env.run("runbook resume")
    assert not answer.failed and f"run #{weekly_id}" in answer.summary
    assert checklist_of(static_env)[2].title.endswith("(demo)")
    other = store.latest_open(ELSEWHERE)
    assert other is not None and other.id == elsewhere.id


def test_resume_with_a_runbook_name_picks_that_runbooks_newest_open_run(static_env: Env) -> None:
    static_env.run("runbook weekly demo")
    first_weekly = int(action_ids(checklist_of(static_env)[2])[0].split(":")[1])
    static_env.run("runbook weekly")
    second_weekly = int(action_ids(checklist_of(static_env)[2])[0].split(":")[1])
    static_env.run("runbook daily demo")

    answer = static_env.run("runbook resume weekly")
    assert not answer.failed and f"run #{second_weekly}" in answer.summary
    static_env.runtime.store.runbooks.finish(second_weekly)
    answer = static_env.run("runbook resume weekly")
    assert not answer.failed and f"run #{first_weekly}" in answer.summary  # the `weekly@demo` run counts too

    assert "No runbook `nightly`" in plain(static_env.run("runbook resume nightly").summary)
    none_open = static_env.run("runbook resume monthly")
    assert none_open.failed and "no unfinished runbook run of `monthly` in this channel" in plain(none_open.summary)


def test_resume_alone_with_nothing_open_says_how_to_start(static_env: Env) -> None:
    static_env.run("runbook daily")  # in #ops only
    answer = static_env.run("runbook resume", channel=ELSEWHERE)
    assert answer.failed and "no unfinished runbook run in this channel" in plain(answer.summary)


def test_latest_open_matches_the_name_exactly_or_with_a_tenant(static_env: Env) -> None:
    store = static_env.runtime.store.runbooks
    plain = store.start("weekly", channel=OPS, started_by=ALICE)
    store.start("weeklyextra@demo", channel=OPS, started_by=ALICE)
    found = store.latest_open(OPS, "weekly")
    assert found is not None and found.id == plain.id
    tenant_run = store.start("weekly@demo", channel=OPS, started_by=ALICE)
    found = store.latest_open(OPS, "weekly")
    assert found is not None and found.id == tenant_run.id
    assert store.latest_open(OPS, "wee") is None
    assert store.latest_open(OPS, "week_y") is None  # `_` is not a LIKE wildcard here
