"""The simulator's IAM users and service accounts: who may sign, and what disabling someone does.

As on the real server, a disabled user is refused before its signature is checked (403
InvalidAccessKeyId, "Your account is disabled"), and so are its service accounts.
"""

from __future__ import annotations

import json

import pytest
from minio.error import S3Error

from sandbox.minio_sim import SimCluster
from tests.fixtures.minio import admin_call, admin_client, s3_client


def test_an_added_user_signs_requests_until_disabled_and_again_once_enabled(minio_cluster: SimCluster) -> None:
    admin = admin_client(minio_cluster)
    admin.user_add("carol-app", "carol-app-secret-1")
    as_carol = s3_client(minio_cluster, access_key="carol-app", secret_key="carol-app-secret-1")
    as_carol.list_buckets()
    admin.user_disable("carol-app")
    with pytest.raises(S3Error) as refused:
        as_carol.list_buckets()
    assert refused.value.code == "InvalidAccessKeyId"
    assert "disabled" in (refused.value.message or "")
    assert json.loads(admin.user_info("carol-app"))["status"] == "disabled"
    admin.user_enable("carol-app")
    as_carol.list_buckets()


def test_a_wrong_secret_for_a_known_user_is_a_signature_mismatch(minio_cluster: SimCluster) -> None:
    with pytest.raises(S3Error) as refused:
        s3_client(minio_cluster, access_key="backup-agent", secret_key="not-its-secret").list_buckets()
    assert refused.value.code == "SignatureDoesNotMatch"


def test_disabling_a_user_disables_its_service_accounts(minio_cluster: SimCluster) -> None:
    admin = admin_client(minio_cluster)
    accounts = json.loads(admin.list_service_account("backup-agent"))["accounts"]
    assert [(a["accessKey"], a["parentUser"], a["accountStatus"]) for a in accounts] == [
        ("svc-backup-nightly", "backup-agent", "on")
    ]
    assert all("secretKey" not in a for a in accounts)
    service = s3_client(minio_cluster, access_key="svc-backup-nightly", secret_key="sim-svc-backup-nightly-secret")
    service.list_buckets()
    admin.user_disable("backup-agent")
    with pytest.raises(S3Error) as refused:
        service.list_buckets()
    assert refused.value.code == "InvalidAccessKeyId"


def test_set_user_status_refuses_yourself_unknown_users_and_unknown_states(minio_cluster: SimCluster) -> None:
    root = minio_cluster.access_key
    yourself = admin_call(minio_cluster, "PUT", "set-user-status", {"accessKey": root, "status": "disabled"})
    assert yourself.status == 400 and json.loads(yourself.data)["Code"] == "XMinioAdminInvalidArgument"
    unknown = admin_call(minio_cluster, "PUT", "set-user-status", {"accessKey": "nobody", "status": "disabled"})
    assert unknown.status == 404 and json.loads(unknown.data)["Code"] == "XMinioAdminNoSuchUser"
    odd = admin_call(minio_cluster, "PUT", "set-user-status", {"accessKey": "grafana", "status": "paused"})
    assert odd.status == 400


def test_user_names_with_unicode_and_path_characters_round_trip(minio_cluster: SimCluster) -> None:
    admin = admin_client(minio_cluster)
    name = "ops/zoë+1"
    admin.user_add(name, "a-secret-for-zoe")
    admin.user_disable(name)
    users = json.loads(admin.user_list())
    assert users[name]["status"] == "disabled"
    assert all("secretKey" not in u for u in users.values())


def test_bucket_quota_is_set_read_back_and_cleared(minio_cluster: SimCluster) -> None:
    s3_client(minio_cluster).make_bucket("quota-test")
    admin = admin_client(minio_cluster)
    admin.bucket_quota_set("quota-test", 5 << 30)
    assert json.loads(admin.bucket_quota_get("quota-test"))["quota"] == 5 << 30
    admin.bucket_quota_clear("quota-test")
    cleared = admin_call(minio_cluster, "GET", "get-bucket-quota", {"bucket": "quota-test"})
    assert cleared.status == 404 and json.loads(cleared.data)["Code"] == "XMinioAdminNoSuchQuotaConfiguration"


def test_a_service_account_turned_off_through_madmin_is_refused_and_on_again_signs(minio_cluster: SimCluster) -> None:
    admin = admin_client(minio_cluster)
    info = json.loads(admin.get_service_account("svc-backup-nightly"))
    assert (info["parentUser"], info["accountStatus"], info["impliedPolicy"]) == ("backup-agent", "on", True)
    assert "expiration" not in info and "secretKey" not in info  # no expiry: omitted, as the real server does
    assert json.loads(info["policy"])["Statement"], "the parent's policy, as a JSON string"
    listed = json.loads(admin.list_service_account("backup-agent"))["accounts"]
    assert listed[0]["expiration"] == "1970-01-01T00:00:00Z"  # newer servers list "never" as the Unix epoch
    service = s3_client(minio_cluster, access_key="svc-backup-nightly", secret_key="sim-svc-backup-nightly-secret")
    admin.update_service_account(access_key="svc-backup-nightly", status="off")
    with pytest.raises(S3Error) as refused:
        service.list_buckets()
    assert refused.value.code == "InvalidAccessKeyId" and "disabled" in (refused.value.message or "")
    admin.update_service_account(access_key="svc-backup-nightly", status="enabled")  # a synonym newer servers take
    service.list_buckets()


def test_info_and_update_of_something_that_is_no_service_account_are_404(minio_cluster: SimCluster) -> None:
    for key in ("backup-agent", minio_cluster.access_key, "nothing-at-all"):
        info = admin_call(minio_cluster, "GET", "info-service-account", {"accessKey": key})
        assert info.status == 404 and json.loads(info.data)["Code"] == "XMinioInvalidIAMCredentials", key
        update = admin_call(minio_cluster, "POST", "update-service-account", {"accessKey": key})
        assert update.status == 404, key
