"""`/minio security <tenant> revoke-key`: an access key turned off after a second person approves, and the
response buttons the security diagnostic offers.

Given the demo tenant on the simulator: revoking a service account shows its owner, policy, expiry and status,
needs another person's approval, runs once, and then MinIO refuses requests signed with that key (a real
SigV4 request through the minio SDK); enable-key brings it back. The bot's own key, the root user, a user's
name and unknown keys are refused before anything is requested. The security diagnostic offers "Disable user"
and "Revoke key" buttons for admin-grade users; pressing one requests the same plan, in the Slack simulator
too.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.commands import UsageError
from bot.interactions import Click
from bot.report import Action, Report
from handlers import incidents, security
from handlers.security.buttons import RESPOND
from sandbox.minio_sim import SimCluster
from sandbox.minio_sim.iam import ServiceAccount
from sandbox.slack_sim import SlackSim
from sandbox.slack_sim.state import Ephemeral, Message
from tests.fixtures.bot import ALICE, BOB, CAROL, OPS, BotFactory, base_config
from tests.reading import plain, report_text
from tests.test_approvals import World, world_from
from tests.test_approvals_slack import button, driver, wait_card, wait_state
from tests.test_data import site_config
from tests.test_security import make_site, run, signs
from tests.test_slack_app import wait_ephemeral

NIGHTLY, NIGHTLY_SECRET = "svc-backup-nightly", "sim-svc-backup-nightly-secret"


def add_key(cluster: SimCluster, key: str, parent: str, secret: str, **fields: Any) -> None:
    """A service account of ``parent`` on the simulator (as `mc admin user svcacct add` would make)."""
    with cluster.model.lock:
        cluster.model.iam.add_service_account(key, ServiceAccount(parent, secret, **fields))


def add_admin(cluster: SimCluster, user: str = "ops-admin") -> None:
    """An enabled user with MinIO's built-in admin policy and one access key, the case a responder fears."""
    with cluster.model.lock:
        cluster.model.iam.add_user(user, f"sim-{user}-secret", policy="consoleAdmin")
    add_key(cluster, f"svc-{user}", user, f"sim-svc-{user}-secret", name="automation")


@pytest.fixture
def site(minio_cluster: SimCluster, tmp_path: Path) -> Iterator[World]:
    world = make_site(minio_cluster, tmp_path)
    yield world
    world.runtime.close()


def card(world: World) -> str:
    [(_, _, report, _)] = world.outbox.posts
    return report_text(report)


def approve(world: World) -> str:
    [approval] = world.runtime.store.approvals.pending()
    world.press(BOB, approval.id)
    return approval.id


# ---------------------------------------------------------------- revoke-key


def test_revoking_a_key_shows_owner_policy_expiry_and_status_and_after_approval_minio_refuses_it(
    site: World, minio_cluster: SimCluster
) -> None:
    requested = run(site, f"/minio security demo revoke-key {NIGHTLY}")
    assert not requested.failed, report_text(requested)
    preview = card(site)
    assert f"Revoke access key {NIGHTLY} (nightly) on demo" in preview
    assert "Owner: backup-agent" in preview and "inherited from backup-agent (policy readwrite)" in preview
    assert "never expires" in preview and "Last use: not reported by MinIO" in preview
    assert "on" in preview and "MinIO refuses every request signed with it" in preview
    assert NIGHTLY_SECRET not in preview
    assert signs(minio_cluster, NIGHTLY, NIGHTLY_SECRET), "nothing happens before the approval"

    [approval] = site.runtime.store.approvals.pending()
    site.press(ALICE, approval.id)  # the requester cannot approve her own request
    assert signs(minio_cluster, NIGHTLY, NIGHTLY_SECRET)
    site.press(BOB, approval.id)
    assert site.status(approval.id) == "succeeded"
    assert not signs(minio_cluster, NIGHTLY, NIGHTLY_SECRET)
    assert site.actions(approval.id).count("execute") == 1
    assert signs(minio_cluster, "backup-agent", "sim-backup-agent-secret"), "the owner keeps working"
    assert f"Access key {NIGHTLY} is revoked" in report_text(site.outbox.card(site.outbox.posts[0][1]))

    site.outbox.posts.clear()
    run(site, f"/minio security demo enable-key {NIGHTLY}")
    assert f"Enable access key {NIGHTLY} (nightly) on demo" in card(site)
    approve(site)
    assert signs(minio_cluster, NIGHTLY, NIGHTLY_SECRET), "enable-key undoes the revocation"


def test_a_key_with_its_own_policy_and_an_expiry_says_so(site: World, minio_cluster: SimCluster) -> None:
    own = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:PutObject"], "Resource": ["arn:aws:s3:::releases/*"]}]}
    add_key(minio_cluster, "svc-release", "backup-agent", "sim-svc-release-secret",
            expiration="2099-03-31T00:00:00Z", policy=own)
    run(site, "/minio security demo revoke-key svc-release")
    preview = card(site)
    assert "its own inline policy (1 statement(s)), within what backup-agent may do" in preview
    assert "expires 2099-03-31 00:00 UTC" in preview


def test_revoking_the_bots_own_key_is_refused(minio_cluster: SimCluster, tmp_path: Path) -> None:
    # The bot signs with a service account of its own (a unique name: the bot's keys are redacted process-wide).
    add_key(minio_cluster, "svc-bot-own-7f3a", "backup-agent", "sim-svc-bot-own-7f3a-secret")
    world = make_site(minio_cluster, tmp_path, "svc-bot-own-7f3a", "sim-svc-bot-own-7f3a-secret")
    try:
        report = run(world, "/minio security demo revoke-key svc-bot-own-7f3a")
        assert report.failed and "the access key the bot signs with" in report_text(report)
        assert world.outbox.posts == [] and signs(minio_cluster, "svc-bot-own-7f3a", "sim-svc-bot-own-7f3a-secret")
    finally:
        world.runtime.close()


def test_revoking_the_root_user_is_refused_whoever_the_bot_signs_as(
    site: World, minio_cluster: SimCluster, tmp_path: Path
) -> None:
    as_root = run(site, f"/minio security demo revoke-key {minio_cluster.access_key}")  # the bot signs as root
    assert as_root.failed and "(the root user)" in report_text(as_root)
    (tmp_path / "grafana").mkdir()
    world = make_site(minio_cluster, tmp_path / "grafana", "grafana", "sim-grafana-secret")
    try:
        as_user = run(world, f"/minio security demo revoke-key {minio_cluster.access_key}")
        assert as_user.failed and "The root user" in report_text(as_user)
        assert "rotate the root credentials" in report_text(as_user)
        assert world.outbox.posts == []
    finally:
        world.runtime.close()
    assert site.outbox.posts == []


def test_a_user_name_given_to_revoke_key_points_to_disable_user(site: World) -> None:
    report = run(site, "/minio security demo revoke-key backup-agent")
    text = report_text(report)
    assert report.failed and "That is an IAM user, not a service account" in text
    assert "/minio security demo disable-user backup-agent" in text
    assert site.outbox.posts == []


@pytest.mark.parametrize(
    ("command", "says"),
    [
        ("/minio security demo revoke-key svc-never-existed", "MinIO has no service account with that access key"),
        ("/minio security demo enable-key svc-backup-nightly", "already on (in use)"),
    ],
)
def test_unknown_keys_and_no_ops_are_refused(site: World, command: str, says: str) -> None:
    report = run(site, command)
    assert report.failed and says in report_text(report) and site.outbox.posts == []


def test_revoke_key_without_a_key_is_a_usage_error(site: World) -> None:
    parsed = site.dispatcher.parse("/minio security demo revoke-key")
    assert isinstance(parsed, UsageError) and "revoke-key needs the access key" in plain(parsed.text)


def test_a_key_with_unicode_and_path_characters(site: World, minio_cluster: SimCluster) -> None:
    key = "svc/zoë+1"
    add_key(minio_cluster, key, "backup-agent", "zoe-key-secret-123")
    assert signs(minio_cluster, key, "zoe-key-secret-123")
    run(site, f"/minio security demo revoke-key {key}")
    assert f"Revoke access key {key} on demo" in card(site)
    approve(site)
    assert not signs(minio_cluster, key, "zoe-key-secret-123")
    assert signs(minio_cluster, NIGHTLY, NIGHTLY_SECRET), "only the named key was turned off"


def test_a_key_changed_since_the_preview_is_refused_after_approval(site: World, minio_cluster: SimCluster) -> None:
    run(site, f"/minio security demo revoke-key {NIGHTLY}")
    with minio_cluster.model.lock:
        minio_cluster.model.iam.service_accounts[NIGHTLY].status = "off"  # someone did it by hand meanwhile
    approval_id = approve(site)
    assert site.status(approval_id) == "refused"
    assert site.actions(approval_id).count("execute") == 0


def test_the_users_report_shows_each_keys_status_and_expiry_and_says_last_use_is_not_reported(
    site: World, minio_cluster: SimCluster
) -> None:
    add_key(minio_cluster, "svc-old", "probe", "sim-svc-old-secret", expiration="2020-01-01T00:00:00Z", status="off")
    text = report_text(run(site, "/minio security demo users"))
    assert f"`{NIGHTLY}` on, no expiry" in text
    assert "`svc-old` off, expired 2020-01-01" in text
    assert "Last use: not reported by MinIO" in text
    assert "sim-svc-old-secret" not in text and NIGHTLY_SECRET not in text


# ---------------------------------------------------------------- the diagnostic's buttons


@pytest.fixture
def responders(minio_cluster: SimCluster, tmp_path: Path) -> Iterator[World]:
    raw = site_config(minio_cluster, tmp_path, f"sqlite:///{tmp_path / 'state.db'}")
    world = world_from(raw, capabilities=(security.capability, incidents.capability))
    yield world
    world.runtime.close()


def security_buttons(report: Report) -> list[Action]:
    return [a for s in report.sections for a in s.actions if a.action_id.startswith(f"{RESPOND}:")]


def press(world: World, user: str, action: Action) -> Report:
    click = Click(user=user, channel=OPS, message_ts="1700000000.000100", action_id=action.action_id,
                  value=action.value, trigger_id="trig")
    result = world.dispatcher.click(click, outbox=world.outbox)
    assert result.ephemeral is not None
    return result.ephemeral


def test_the_diagnostic_offers_disable_and_revoke_for_admin_grade_users_and_a_press_requests_the_plan(
    responders: World, minio_cluster: SimCluster
) -> None:
    add_admin(minio_cluster)
    report = run(responders, "/minio incident security demo")
    buttons = {a.label: a for a in security_buttons(report)}
    assert set(buttons) == {"Disable user ops-admin", "Revoke key svc-ops-admin"}, "readwrite users get none"
    assert "Admin-grade users (consoleAdmin)" in report_text(report)
    assert signs(minio_cluster, "svc-ops-admin", "sim-svc-ops-admin-secret")

    looker = press(responders, CAROL, buttons["Revoke key svc-ops-admin"])  # may look, may not request
    assert looker.failed and responders.outbox.posts == []

    requested = press(responders, ALICE, buttons["Revoke key svc-ops-admin"])
    assert not requested.failed, report_text(requested)
    assert "Revoke access key svc-ops-admin (automation) on demo" in card(responders)
    [approval] = responders.runtime.store.approvals.pending()
    assert approval.requester == ALICE
    responders.press(BOB, approval.id)
    assert responders.status(approval.id) == "succeeded"
    assert not signs(minio_cluster, "svc-ops-admin", "sim-svc-ops-admin-secret")
    assert signs(minio_cluster, "ops-admin", "sim-ops-admin-secret"), "the user itself is a separate decision"

    responders.outbox.posts.clear()
    assert not press(responders, BOB, buttons["Disable user ops-admin"]).failed
    assert "Disable MinIO user ops-admin on demo" in card(responders)
    [approval] = responders.runtime.store.approvals.pending()
    responders.press(ALICE, approval.id)
    assert not signs(minio_cluster, "ops-admin", "sim-ops-admin-secret")


def test_the_bots_own_user_gets_no_button_and_a_stale_button_is_refused_without_a_request(
    minio_cluster: SimCluster, tmp_path: Path
) -> None:
    add_admin(minio_cluster, "bot-7f3a")
    keys = tmp_path / "keys"
    keys.mkdir()
    raw = site_config(minio_cluster, keys, f"sqlite:///{tmp_path / 'state.db'}")
    (keys / "ak").write_text("bot-7f3a")
    (keys / "sk").write_text("sim-bot-7f3a-secret")
    world = world_from(raw, capabilities=(security.capability, incidents.capability))
    try:
        assert security_buttons(run(world, "/minio incident security demo")) == []
        forged = Action(label="x", action_id=f"{RESPOND}:disable-user:0",
                        value=json.dumps({"tenant": "demo", "action": "disable-user", "name": "bot-7f3a"}))
        refused = press(world, ALICE, forged)
        assert refused.failed and "the bot's own MinIO user" in report_text(refused)
        assert world.outbox.posts == []
    finally:
        world.runtime.close()


def test_slack_click_on_revoke_then_a_second_person_approves_and_minio_refuses_the_key(
    bot_factory: BotFactory, slack_sim: SlackSim, minio_cluster: SimCluster, tmp_path: Path
) -> None:
    add_admin(minio_cluster)
    config = base_config(slack_sim)
    config.update(site_config(minio_cluster, tmp_path, f"sqlite:///{tmp_path / 'slack.db'}"))
    config["admins"] = [ALICE]
    running = bot_factory(config)
    assert running.slash(ALICE, OPS, "incident security demo").ok

    def offered() -> tuple[str, str, str] | None:
        messages: list[Message | Ephemeral] = [*slack_sim.messages(OPS), *slack_sim.ephemerals(OPS, ALICE)]
        for message in messages:
            for block in message.blocks:
                for element in block.get("elements", []) if block.get("type") == "actions" else []:
                    if str(element.get("text", {}).get("text", "")) == "Revoke key svc-ops-admin":
                        return message.ts, str(element["action_id"]), str(element.get("value", ""))
        return None

    found = slack_sim.wait_for(offered, timeout=30)
    assert found is not None, "the diagnosis never offered the button"
    ts, action_id, value = found
    assert driver(running).click(ALICE, OPS, ts, action_id, value).ok
    approval_card = wait_card(slack_sim)
    assert "Revoke access key svc-ops-admin" in approval_card.text + json.dumps(approval_card.blocks)
    assert signs(minio_cluster, "svc-ops-admin", "sim-svc-ops-admin-secret")
    approve_id, _ = button(approval_card, "approve:")
    assert driver(running).click(ALICE, OPS, approval_card.ts, approve_id).ok
    wait_ephemeral(slack_sim, OPS, ALICE, "You requested this change; someone else must approve it.")
    assert driver(running).click(BOB, OPS, approval_card.ts, approve_id).ok
    wait_state(slack_sim, approval_card.ts, "revoked")
    assert not signs(minio_cluster, "svc-ops-admin", "sim-svc-ops-admin-secret")


def test_the_sandbox_demo_shows_the_buttons_and_the_expiring_key(responders: World, minio_cluster: SimCluster) -> None:
    minio_cluster.load_demo_data()
    labels = {a.label for a in security_buttons(run(responders, "/minio incident security demo"))}
    assert labels == {"Disable user ops-admin", "Revoke key svc-ops-automation"}
    assert "`svc-ops-automation` on, expires" in report_text(run(responders, "/minio security demo users"))
