"""Identities that may sign requests: the root user, IAM users and their service accounts.

As on the real server, a disabled user (``admin set-user-status ... disabled``) cannot sign any
request, and neither can a service account that is off or whose parent user is disabled: the
request is refused before its signature is checked, with 403 ``InvalidAccessKeyId`` "Your account
is disabled; please contact your administrator.". Policies are not evaluated (see DIFFERENCES.md).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

ENABLED = "enabled"
DISABLED = "disabled"
ACCOUNT_DISABLED = "Your account is disabled; please contact your administrator."


@dataclass
class User:
    """An IAM user as `list-users` / `user-info` show it, plus the secret only the simulator keeps."""

    secret_key: str
    policy: str
    status: str = ENABLED

    def public(self) -> dict[str, object]:
        """madmin's UserInfo without the secret (what list-users and user-info answer; empty fields are
        omitted, as its omitempty tags do)."""
        return {"policyName": self.policy, "status": self.status} if self.policy else {"status": self.status}


# MinIO keeps "never expires" as the Unix epoch (its timeSentinel); newer servers list it as such.
NO_EXPIRY = "1970-01-01T00:00:00Z"
ACCOUNT_ON, ACCOUNT_OFF = "on", "off"


@dataclass
class ServiceAccount:
    """A service account (access key) of a parent user; ``status`` is "on" or "off" as madmin reports it.

    ``policy`` is its own inline policy document (None: it inherits the parent's); ``expiration`` is an
    RFC 3339 time or None (never expires).
    """

    parent: str
    secret_key: str
    name: str = ""
    description: str = ""
    status: str = ACCOUNT_ON
    expiration: str | None = None
    policy: dict[str, object] | None = None

    def public(self, access_key: str) -> dict[str, object]:
        """madmin's ServiceAccountInfo (no secret), as newer servers list it: ``expiration`` always set."""
        doc: dict[str, object] = {
            "parentUser": self.parent,
            "accountStatus": self.status,
            "impliedPolicy": self.policy is None,
            "accessKey": access_key,
            "expiration": self.expiration or NO_EXPIRY,
        }
        if self.name:
            doc["name"] = self.name
        if self.description:
            doc["description"] = self.description
        return doc

    def info(self, parent_policy: dict[str, object]) -> dict[str, object]:
        """madmin's InfoServiceAccountResp: the key's own policy or its parent's (``impliedPolicy``), as JSON
        text; ``expiration`` only when the key expires."""
        doc: dict[str, object] = {
            "parentUser": self.parent,
            "accountStatus": self.status,
            "impliedPolicy": self.policy is None,
            "policy": json.dumps(self.policy if self.policy is not None else parent_policy, indent=1),
        }
        if self.name:
            doc["name"] = self.name
        if self.description:
            doc["description"] = self.description
        if self.expiration:
            doc["expiration"] = self.expiration
        return doc


@dataclass(frozen=True)
class Signer:
    """Who a request's access key names: the secret to verify it with, or why it is refused first."""

    secret_key: str | None  # None: no such identity (the request fails as InvalidAccessKeyId)
    disabled: bool = False
    root: bool = False


def default_users() -> dict[str, User]:
    """The sandbox's IAM users (their secrets are fixed so demos and tests can sign as them)."""
    return {
        "backup-agent": User("sim-backup-agent-secret", "readwrite"),
        "grafana": User("sim-grafana-secret", "diagnostics"),
        "probe": User("sim-probe-secret", "readonly"),
        "old-ci": User("sim-old-ci-secret", "readwrite", DISABLED),
    }


def default_service_accounts() -> dict[str, ServiceAccount]:
    """One service account of backup-agent, as backup tools use."""
    return {
        "svc-backup-nightly": ServiceAccount(
            parent="backup-agent", secret_key="sim-svc-backup-nightly-secret", name="nightly", description="restic"
        )
    }


@dataclass
class Identities:
    """Root plus IAM users and service accounts (mutated under the model's lock)."""

    root_access_key: str
    users: dict[str, User] = field(default_factory=default_users)
    service_accounts: dict[str, ServiceAccount] = field(default_factory=default_service_accounts)

    def signer(self, access_key: str, root_secret: str) -> Signer:
        """The identity that ``access_key`` names, for signature verification."""
        if access_key == self.root_access_key:
            return Signer(root_secret, root=True)
        user = self.users.get(access_key)
        if user is not None:
            return Signer(user.secret_key, disabled=user.status != ENABLED)
        account = self.service_accounts.get(access_key)
        if account is not None:
            parent = self.users.get(account.parent)
            parent_off = parent is not None and parent.status != ENABLED
            return Signer(account.secret_key, disabled=account.status != ACCOUNT_ON or parent_off)
        return Signer(None)

    def add_user(self, access_key: str, secret_key: str, status: str = ENABLED, policy: str = "") -> None:
        """Create or update a user (admin add-user keeps an existing user's policy)."""
        existing = self.users.get(access_key)
        self.users[access_key] = User(secret_key, policy or (existing.policy if existing else ""), status)

    def add_service_account(self, access_key: str, account: ServiceAccount) -> None:
        """Create a service account (tests and demos; the admin ``add-service-account`` call is not served)."""
        self.service_accounts[access_key] = account
