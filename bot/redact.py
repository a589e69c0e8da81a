"""The one redaction function, applied to every log line and every Slack message.

Two layers: the exact values of secrets the bot has loaded (registered at load
time, so even an unusual-looking key is caught), and patterns for the shapes
secrets take in text (Slack tokens, Authorization headers, signed URLs,
`KEY=value` pairs whose key says secret, PEM private keys, passwords in URLs,
Kubernetes env entries written as JSON).

Structured data (a Tenant spec, a change plan, an audit row) goes through
:func:`redact_structured` before it is stored: every ``env[]`` entry whose
name looks secret loses its literal ``value`` (``valueFrom`` references stay),
and every string is passed through :func:`redact`.
"""

from __future__ import annotations

import copy
import re
import threading
from typing import Any, TypeVar

T = TypeVar("T")

MASK = "[redacted]"

_known: set[str] = set()
_known_lock = threading.Lock()
_known_pattern: re.Pattern[str] | None = None

_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"xox[abposr]-[A-Za-z0-9-]{6,}"), MASK),
    (re.compile(r"xapp-[A-Za-z0-9-]{6,}"), MASK),
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.S), MASK),
    (re.compile(r"(?i)\b(authorization\s*[:=]\s*)(\"?)[^\"\n,;]+"), rf"\1\2{MASK}"),
    (re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{8,}"), f"Bearer {MASK}"),
    (re.compile(r"(?i)AWS4-HMAC-SHA256\s+Credential=\S+(\s+SignedHeaders=\S+)?(\s+Signature=\S+)?"), MASK),
    (re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}"), MASK),
    (re.compile(r"(?i)(X-Amz-(?:Signature|Credential|Security-Token)=)[^&\s\"]+"), rf"\1{MASK}"),
    (re.compile(r"(?i)(Signature=)[0-9a-f]{16,}"), rf"\1{MASK}"),
    # response_url / webhook paths are bearer capabilities: whoever has one can post.
    (re.compile(r"(/(?:commands|actions|services)/)[A-Za-z0-9_/-]{10,}"), rf"\1{MASK}"),
    (re.compile(r"(?i)(://[^/\s:@]+:)[^@\s/]+@"), rf"\1{MASK}@"),
    (
        re.compile(
            r"(?i)\b([A-Z0-9_]*(?:SECRET|PASSWORD|PASSWD|TOKEN|ROOT_USER|ACCESS_KEY|PRIVATE_KEY)[A-Z0-9_]*"
            r"\s*[=:]\s*)(\"[^\"]*\"|'[^']*'|[^\s,;\"'}]+)"
        ),
        rf"\1{MASK}",
    ),
    (
        re.compile(r"(?i)(\"(?:secret_?key|secretKey|password|token|accessKey|access_key)\"\s*:\s*)\"[^\"]*\""),
        rf'\1"{MASK}"',
    ),
    # A Kubernetes env entry shown as JSON ({"name":"MINIO_ROOT_PASSWORD","value":"..."}), e.g. in a spec
    # diff; the value may be cut short by a length limit, so the closing quote is optional.
    (
        re.compile(
            r'(?i)("name"\s*:\s*"[A-Z0-9_.-]*(?:PASSWORD|PASSWD|PASSPHRASE|SECRET|TOKEN|KEY|CREDENTIAL|PRIVATE|'
            r'ROOT_USER|DSN|CONNECTION_STRING)[A-Z0-9_.-]*"\s*,\s*"value"\s*:\s*)"(?:[^"\\]|\\.)*(?:"|$)'
        ),
        rf'\1"{MASK}"',
    ),
]


def register_secret(value: str | None) -> None:
    """Remember a secret value so `redact` masks it wherever it appears."""
    global _known_pattern
    # Very short values would mask ordinary words; real keys are longer.
    if not value or len(value) < 6:
        return
    with _known_lock:
        if value in _known:
            return
        _known.add(value)
        alternatives = sorted(_known, key=len, reverse=True)
        _known_pattern = re.compile("|".join(re.escape(v) for v in alternatives))


def redact(text: str) -> str:
    """Return `text` with every known secret value and secret-shaped substring masked."""
    if not text:
        return text
    pattern = _known_pattern
    if pattern is not None:
        text = pattern.sub(MASK, text)
    for regex, replacement in _PATTERNS:
        text = regex.sub(replacement, text)
    return text


# ----------------------------------------------------------------------------- structured data

_NAME_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
_SECRET_WORDS = frozenset({
    "PASSWORD", "PASSWD", "PASSPHRASE", "PWD", "SECRET", "SECRETS", "TOKEN", "TOKENS", "KEY", "KEYS",
    "APIKEY", "ACCESSKEY", "SECRETKEY", "CREDENTIAL", "CREDENTIALS", "CREDS", "PRIVATE", "DSN",
})
# A name ending in one of these points at a secret (a file, a Secret's name), it is not one.
_REFERENCE_WORDS = frozenset({"FILE", "PATH", "NAME", "REF", "TYPE"})


def secret_looking_name(name: str) -> bool:
    """True when an environment variable (or field) name says its value is a secret.

    ``MINIO_ROOT_PASSWORD``, ``MINIO_KMS_SECRET_KEY``, ``MINIO_NOTIFY_WEBHOOK_AUTH_TOKEN_X``,
    ``MINIO_ROOT_USER`` (the root access key) and ``secretKey`` are; ``MINIO_ROOT_PASSWORD_FILE``
    (a path) and ``MINIO_BROWSER`` are not.
    """
    words = [w.upper() for part in re.split(r"[^A-Za-z0-9]+", name) for w in _NAME_WORDS.findall(part)]
    if not words or words[-1] in _REFERENCE_WORDS:
        return False
    joined = "_".join(words)
    return bool(_SECRET_WORDS.intersection(words)) or "ROOT_USER" in joined or "CONNECTION_STRING" in joined


def _is_secret_env_entry(entry: Any) -> bool:
    return (
        isinstance(entry, dict)
        and isinstance(entry.get("name"), str)
        and "value" in entry
        and secret_looking_name(entry["name"])
    )


def redact_structured(obj: T) -> T:
    """A copy of ``obj`` (JSON-like: dicts, lists, strings, numbers) that is safe to store or show.

    * In every list under a key named ``env`` (a container's or a Tenant's
      environment), and in the ``value`` of a JSON patch op whose ``path``
      ends in ``/env`` (or ``/env/<n>``), an entry whose ``name`` looks secret (see
      :func:`secret_looking_name`) gets ``value`` replaced by :data:`MASK`;
      ``valueFrom`` (a reference to a Secret) is kept as it is.
    * Every string anywhere goes through :func:`redact` (registered secret
      values, tokens, ``KEY=value`` pairs, passwords in URLs, env entries
      already serialised to JSON text).

    ``obj`` itself is never modified.
    """
    result: T = _redact_node(obj, in_env=False)
    return result


_ENV_POINTER = re.compile(r"/env(/(\d+|-))?$")


def _redact_node(node: Any, *, in_env: bool) -> Any:
    if isinstance(node, str):
        return redact(node)
    if isinstance(node, dict):
        if in_env and _is_secret_env_entry(node):
            return {k: (MASK if k == "value" else _redact_node(v, in_env=False)) for k, v in node.items()}
        # A JSON patch op that writes an env list (or one entry of it) carries it under "value".
        patches_env = isinstance(node.get("path"), str) and bool(_ENV_POINTER.search(node["path"]))
        return {
            k: _redact_node(v, in_env=(k == "env" and isinstance(v, list)) or (k == "value" and patches_env))
            for k, v in node.items()
        }
    if isinstance(node, (list, tuple)):
        items = [_redact_node(v, in_env=in_env) for v in node]
        return items if isinstance(node, list) else tuple(items)
    return copy.deepcopy(node)


def contains_redaction(obj: Any) -> bool:
    """True when a JSON-like value holds :data:`MASK` anywhere (e.g. a patch built from a stored snapshot)."""
    if isinstance(obj, str):
        return MASK in obj
    if isinstance(obj, dict):
        return any(contains_redaction(v) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return any(contains_redaction(v) for v in obj)
    return False


def restore_redacted(stored: T, live: Any) -> T:
    """``stored`` with every :data:`MASK` value put back from ``live``, the same object as it is now.

    For a rollback: a stored snapshot never holds a secret, so what it restores
    is the current value of each redacted field (a rollback keeps secrets as they
    are). ``env`` entries are matched by ``name``, other lists by position,
    dicts by key. A masked value whose counterpart no longer exists raises
    ``ValueError``: the caller must not write a placeholder.
    """
    result: T = _restore(stored, live, path="")
    return result


def _restore(stored: Any, live: Any, *, path: str) -> Any:
    if isinstance(stored, str):
        if MASK not in stored:
            return stored
        if isinstance(live, str) and (stored == MASK or redact(live) == stored):
            return live
        raise ValueError(f"{path or 'the value'} was redacted when stored and has no current value to keep")
    if isinstance(stored, dict):
        live_dict = live if isinstance(live, dict) else {}
        return {k: _restore(v, live_dict.get(k), path=f"{path}.{k}" if path else k) for k, v in stored.items()}
    if isinstance(stored, list):
        live_list = live if isinstance(live, list) else []
        by_name = {e["name"]: e for e in live_list if isinstance(e, dict) and isinstance(e.get("name"), str)}
        restored = []
        for index, item in enumerate(stored):
            if isinstance(item, dict) and isinstance(item.get("name"), str):
                counterpart = by_name.get(item["name"])
                where = f"{path}[{item['name']}]"
            else:
                counterpart = live_list[index] if index < len(live_list) else None
                where = f"{path}[{index}]"
            restored.append(_restore(item, counterpart, path=where))
        return restored
    return stored


def restore_redacted_patch(ops: list[dict[str, Any]], live: Any) -> list[dict[str, Any]]:
    """A JSON patch whose redacted values are put back from ``live`` (the object the patch applies to).

    For a change planned from redacted data (the plan stores no secret): at
    execution, each op's ``value`` takes the current value at its ``path`` for
    every :data:`MASK` it holds. Raises ``ValueError`` where there is none.
    """
    restored = []
    for op in ops:
        if "value" in op and contains_redaction(op["value"]):
            current = _at_pointer(live, str(op.get("path", "")))
            op = {**op, "value": _restore(op["value"], current, path=str(op.get("path", "")))}
        restored.append(op)
    return restored


def _at_pointer(document: Any, pointer: str) -> Any:
    node = document
    for raw in pointer.split("/")[1:]:
        key = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict):
            node = node.get(key)
        elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        else:
            return None
    return node
