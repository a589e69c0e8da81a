"""Configuration: valid files load; invalid ones name the field and the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from bot.config import ConfigError, load_config, parse_config

ROOT = Path(__file__).resolve().parent.parent

VALID = """
admins: [U0ALICE]
clusters:
  - name: prod
    kubeconfig: /etc/kube/config
    operators: [S0PLATFORM]
    approvals: {approvers: [S0ONCALL], channel: C0OPS}
tenants:
  - name: analytics
    kubernetes: {cluster: prod, namespace: minio-analytics}
    credentials: {secret: analytics-env}
    channels: [C0OPS]
    approvals:
      update: {approvers: [S0ONCALL]}
channels:
  - id: C0OPS
    report: {cron: "0 9 * * *", timezone: Pacific/Auckland}
"""


def test_example_config_is_valid() -> None:
    config = load_config(ROOT / "config.example.yaml")
    assert config.tenants, "the example should show at least one tenant"


def test_valid_config_loads_with_defaults() -> None:
    config = parse_config(VALID)
    tenant = config.tenants[0]
    assert tenant.thresholds.plan == 70 and tenant.thresholds.alert == 80 and tenant.thresholds.critical == 90
    assert tenant.approval_rule("update").approvers == ["S0ONCALL"]
    assert tenant.approval_rule("scale").required == 1
    assert tenant.approval_rule("scale").expiry_minutes == 30
    assert tenant.tenant_name == "analytics"
    assert tenant.allowed_images is None, "default: only the repository the Tenant runs now"
    [cluster] = config.clusters
    assert cluster.operators == ["S0PLATFORM"] and cluster.operator.allowed_images is None
    assert cluster.approvals is not None
    assert (cluster.approvals.required, cluster.approvals.channel) == (2, "C0OPS"), "operator changes need two"


def test_operator_upgrades_are_governed_by_the_cluster_never_by_a_tenant_rule() -> None:
    found = problems(VALID.replace("update: {approvers: [S0ONCALL]}", "operator-update: {approvers: [S0ONCALL]}"))
    assert any(p.startswith("tenants[0].approvals") and "move this rule to `approvals` of the cluster" in p
               for p in found), found
    no_one = problems(VALID.replace("approvals: {approvers: [S0ONCALL], channel: C0OPS}",
                                    "approvals: {approvers: [], channel: C0OPS}"))
    assert any(p.startswith("clusters[0].approvals.approvers") and "at least one approver" in p for p in no_one)
    nowhere = problems(VALID.replace("approvals: {approvers: [S0ONCALL], channel: C0OPS}",
                                     "approvals: {approvers: [S0ONCALL]}"))
    assert any(p.startswith("clusters[0].approvals.channel") and "Field required" in p for p in nowhere), nowhere
    unknown = problems(VALID.replace("channel: C0OPS}", "channel: C0ELSEWHERE}"))
    assert any("approvals.channel C0ELSEWHERE is not under `channels`" in p for p in unknown), unknown


def test_allowed_images_name_registries_or_repositories_never_tags() -> None:
    sources = "[quay.io/, registry.example.com:5000/minio/, minio/minio]"
    fine = parse_config(VALID.replace("channels: [C0OPS]\n    approvals:",
                                      f"channels: [C0OPS]\n    allowed_images: {sources}\n    approvals:", 1))
    assert fine.tenants[0].allowed_images == ["quay.io/", "registry.example.com:5000/minio/", "minio/minio"]
    found = problems(VALID.replace("channels: [C0OPS]\n    approvals:",
                                   "channels: [C0OPS]\n    allowed_images: ['quay.io/minio/minio:latest']\n"
                                   "    approvals:", 1))
    assert any(p.startswith("tenants[0].allowed_images") and "without tag or digest" in p for p in found), found


def test_incident_channels_are_private_unless_configured_otherwise() -> None:
    assert parse_config(VALID).incidents.private is True
    assert parse_config(VALID + "incidents: {private: false}\n").incidents.private is False


def test_a_tenants_responders_default_to_its_operators_and_approvers() -> None:
    tenant = parse_config(VALID).tenants[0]
    assert tenant.responders == [] and tenant.incident_responders == ["S0ONCALL"]
    with_operators = parse_config(VALID.replace("    channels: [C0OPS]\n", "    channels: [C0OPS]\n"
                                                "    operators: [U0BOB, S0ONCALL]\n"))
    assert with_operators.tenants[0].incident_responders == ["U0BOB", "S0ONCALL"]
    def with_responders(value: str) -> str:
        return VALID.replace("    channels: [C0OPS]\n", f"    channels: [C0OPS]\n    responders: {value}\n")

    assert parse_config(with_responders("[U0CAROL]")).tenants[0].incident_responders == ["U0CAROL"]
    assert any("Slack user id" in p for p in problems(with_responders("[carol]")))


def test_channel_responders_are_refused_with_where_they_went() -> None:
    found = problems(VALID + "  - id: C0PLATFORM\n    responders: [U0BOB]\n")
    assert any("tenants[].responders" in p for p in found), found


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(text)
    return info.value.problems


def test_inline_secret_is_refused_with_position() -> None:
    found = problems(VALID.replace("credentials: {secret: analytics-env}", "secret_key: hunter2hunter2"))
    assert any("tenants[0].secret_key" in p and "secrets must not be written" in p and "line 11" in p for p in found)
    assert not any("hunter2" in p for p in found)


def test_bad_time_zone_names_the_field() -> None:
    found = problems(VALID.replace("Pacific/Auckland", "Mars/Olympus"))
    assert any(p.startswith("channels[0].report.timezone") and "Mars/Olympus" in p for p in found)


def test_unknown_cluster_reference() -> None:
    found = problems(VALID.replace("cluster: prod,", "cluster: staging,"))
    assert any("cluster 'staging'" in p for p in found)


def test_channel_names_instead_of_ids() -> None:
    found = problems(VALID.replace("channels: [C0OPS]", "channels: ['#ops']"))
    assert any("tenants[0].channels" in p and "channel id" in p for p in found)


def test_thresholds_must_be_ordered() -> None:
    found = problems(VALID.replace("channels: [C0OPS]\n", "channels: [C0OPS]\n    thresholds: {plan: 95}\n", 1))
    assert any("plan <= alert <= critical" in p for p in found)


def test_not_yaml() -> None:
    found = problems("tenants: [\n  - name: x")
    assert found and "not valid YAML" in found[0] and "line" in found[0]


def test_check_config_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(VALID)
    assert main(["check-config", str(good)]) == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text(VALID.replace("Pacific/Auckland", "Nowhere"))
    with pytest.raises(SystemExit) as exit_info:
        main(["check-config", str(bad)])
    assert exit_info.value.code == 1
    assert "channels[0].report.timezone" in capsys.readouterr().err
