"""The one redaction function, applied to every log line and every Slack message.

Two layers: the exact values of secrets the bot has loaded (registered at load
time, so even an unusual-looking key is caught), and patterns for the shapes
secrets take in text (Slack tokens, Authorization headers, signed URLs,
`KEY=value` pairs whose key says secret, PEM private keys, passwords in URLs).
"""

from __future__ import annotations

import re
import threading

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
