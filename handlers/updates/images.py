"""Container image references and MinIO versions, as upgrades need them.

An upgrade target must say what it is: ``registry/repo/name:tag``. The rules
(decided for this bot, explained to the user when they bite):

- A tag is required. ``latest`` is refused: it moves, so neither the preview
  nor a rollback snapshot could say what runs.
- A digest is accepted only *pinned to a tag*: ``repo:tag@sha256:<64 hex>``.
  The tag tells people and the version check what it is; the digest makes
  the kubelet pull exactly those bytes. A bare ``repo@sha256:...`` is refused
  as "without a tag".
- Whitespace, upper-case repositories and malformed digests are refused.
- The image must come from an allowed source (:func:`allowed_source`): the
  tenant's ``allowed_images`` (the operator's: ``clusters[].operator.allowed_images``),
  or by default the repositories running now, so a switch to another registry
  needs a configuration change first. Sources compare in their full form
  (:func:`image_source`): ``minio/minio`` is ``docker.io/minio/minio``.

MinIO reports its version in ``info`` either as the release tag
(``RELEASE.2025-09-07T16-13-09Z``) or as the release time
(``2025-09-07T16:13:09Z``); :func:`release_time` reads both so versions,
tags and configured targets compare as release times.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from bot.invocation import UserError
from bot.models import Frozen
from bot.report import code, spans

_NAME = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
_HOST = re.compile(r"^[a-zA-Z0-9.-]+(?::\d+)?$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_RELEASE = re.compile(r"^RELEASE\.(\d{4})-(\d{2})-(\d{2})T(\d{2})-(\d{2})-(\d{2})Z(?:\..*)?$")
_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z$")
FLOATING_TAGS = frozenset({"latest", "stable", "edge", "main", "master"})


class ImageError(UserError):
    """An image reference the bot will not deploy; the text says why and what to type."""


class ImageRef(Frozen):
    """A parsed ``[registry/]repository:tag[@sha256:digest]``."""

    repository: str  # everything before the tag, registry included
    tag: str
    digest: str | None = None

    def __str__(self) -> str:
        return f"{self.repository}:{self.tag}" + (f"@{self.digest}" if self.digest else "")

    @property
    def version(self) -> str:
        """The tag: for MinIO a release tag, for the operator a semantic version."""
        return self.tag


def parse_image(text: str) -> ImageRef:
    """Parse and check an image reference (see the module rules); ImageError with the reason otherwise."""
    ref = text.strip()
    example = spans("e.g. ", code("quay.io/minio/minio:RELEASE.2025-09-07T16-13-09Z"))
    if not ref or any(c.isspace() for c in ref):
        raise ImageError(spans(code(text[:80]), " is not an image reference; ", example, "."))
    digest = None
    if "@" in ref:
        ref, _, digest = ref.partition("@")
        if not _DIGEST.match(digest):
            raise ImageError(spans(code(digest[:80]), " is not a valid digest: it must be ", code("sha256:"),
                                   " and 64 lower-case hex characters."))
    last = ref.rsplit("/", 1)[-1]
    if ":" not in last:
        if digest:
            raise ImageError(spans(code(text[:100]), " has a digest but no tag. Give the release tag too, pinned to "
                                   "the digest (", code(f"repo:TAG@{digest[:15]}…"), "), so people and the version "
                                   "check can read what it is."))
        raise ImageError(spans(code(text[:100]), " has no tag. Name the exact release, ", example, "."))
    repository, _, tag = ref.rpartition(":")
    if not _TAG.match(tag):
        raise ImageError(spans(code(tag[:60]), " is not a valid image tag."))
    if tag.lower() in FLOATING_TAGS:
        raise ImageError(spans(code(tag[:60]), " is a moving tag: the preview and the rollback snapshot could not "
                               "say what runs. Name the exact release, ", example, "."))
    _check_repository(repository)
    return ImageRef(repository=repository, tag=tag, digest=digest)


def _check_repository(repository: str) -> None:
    parts = repository.split("/")
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        host, parts = parts[0], parts[1:]
        if not _HOST.match(host):
            raise ImageError(spans(code(host[:60]), " is not a valid registry host."))
    if not parts or not all(_NAME.match(n) for n in parts):
        raise ImageError(spans(code(repository[:100]), " is not a valid repository (lower-case letters, digits, ",
                               code("."), ", ", code("_"), ", ", code("-"), ", separated by ", code("/"), ")."))


DEFAULT_REGISTRY = "docker.io"  # what a reference without a registry host pulls from
_REGISTRY_ALIASES = {"index.docker.io": DEFAULT_REGISTRY, "registry-1.docker.io": DEFAULT_REGISTRY}


class ImageParts(Frozen):
    """An image reference taken apart, with the registry it really pulls from (``docker.io`` when unnamed)."""

    registry: str
    repository: str  # the path inside the registry, e.g. minio/minio
    tag: str | None = None
    digest: str | None = None

    @property
    def source(self) -> str:
        """``registry/repository``: what an allow-list entry is compared with."""
        return f"{self.registry}/{self.repository}"


def _split_registry(reference: str) -> tuple[str, str]:
    """(registry, path) the way container runtimes read a reference: the first part is a registry only when it
    has a dot or a port, or is ``localhost``; otherwise Docker Hub (one-part names live under ``library/``)."""
    first, slash, rest = reference.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        return _REGISTRY_ALIASES.get(first.lower(), first.lower()), rest
    return DEFAULT_REGISTRY, reference if "/" in reference else f"library/{reference}"


def image_parts(image: str) -> ImageParts:
    """An image already in a spec (lenient: no validation) or a parsed one, taken apart."""
    ref, _, digest = image.strip().partition("@")
    head, _, last = ref.rpartition("/")
    name, _, tag = last.partition(":")
    registry, repository = _split_registry(f"{head}/{name}" if head else name)
    return ImageParts(registry=registry, repository=repository, tag=tag or None, digest=digest or None)


def image_source(image: str) -> str:
    """``registry/repository`` of an image reference, registry made explicit."""
    return image_parts(image).source


def normalise_source(entry: str) -> str:
    """An allow-list entry in the same full form as :func:`image_source` (a trailing ``/`` keeps meaning
    "everything under")."""
    registry, path = _split_registry(entry.strip())
    return f"{registry}/{path}"


def allowed_source(source: str, entries: list[str]) -> bool:
    """Whether ``source`` (full form) is one of ``entries``: an exact repository, or under an entry that ends
    with ``/`` (a registry or a prefix); ``quay.io/minio`` does not cover ``quay.io/minio-other``."""
    for entry in (normalise_source(e) for e in entries):
        if source == entry or (entry.endswith("/") and source.startswith(entry)):
            return True
    return False


def image_tag(image: str | None) -> str | None:
    """The tag of an image already in a spec (lenient: no validation), or None."""
    if not image:
        return None
    ref = image.split("@", 1)[0]
    last = ref.rsplit("/", 1)[-1]
    return last.rsplit(":", 1)[1] if ":" in last else None


def image_repository(image: str | None) -> str | None:
    """The repository of an image already in a spec, without tag or digest."""
    if not image:
        return None
    ref = image.split("@", 1)[0]
    head, _, last = ref.rpartition("/")
    name = last.split(":", 1)[0]
    return f"{head}/{name}" if head else name


def release_time(version: str | None) -> datetime | None:
    """The release time in a MinIO version or tag (``RELEASE.…Z`` or ``…T..:..:..Z``); None for other versions."""
    if not version:
        return None
    match = _RELEASE.match(version) or _ISO.match(version)
    if not match:
        return None
    try:
        year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:
        return None


def same_version(a: str | None, b: str | None) -> bool:
    """Whether two MinIO versions (tag or reported form) name the same release."""
    if not a or not b:
        return False
    ta, tb = release_time(a), release_time(b)
    if ta is not None and tb is not None:
        return ta == tb
    return a == b


def compare_versions(current: str | None, target: str | None) -> int | None:
    """-1 when ``target`` is newer (upgrade), 0 same, 1 older (downgrade); None when they cannot be ordered."""
    if same_version(current, target):
        return 0
    tc, tt = release_time(current), release_time(target)
    if tc is not None and tt is not None:
        return -1 if tt > tc else 1
    sc, st = _semver(current), _semver(target)
    if sc is not None and st is not None:
        return 0 if sc == st else (-1 if st > sc else 1)
    return None


def _semver(version: str | None) -> tuple[int, ...] | None:
    match = re.match(r"^v?(\d+)\.(\d+)\.(\d+)$", version or "")
    return tuple(int(g) for g in match.groups()) if match else None
