"""Image references an upgrade accepts, and MinIO versions compared as release times."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from handlers.updates.evaluate import image_changes, image_source_finding
from handlers.updates.images import (
    ImageError,
    allowed_source,
    compare_versions,
    image_parts,
    image_repository,
    image_tag,
    parse_image,
    release_time,
    same_version,
)
from tests.reading import plain

DIGEST = "sha256:" + "0f" * 32


@pytest.mark.parametrize(("text", "repository", "tag", "digest"), [
    ("quay.io/minio/minio:RELEASE.2025-09-07T16-13-09Z", "quay.io/minio/minio", "RELEASE.2025-09-07T16-13-09Z", None),
    ("minio/minio:RELEASE.2025-09-07T16-13-09Z", "minio/minio", "RELEASE.2025-09-07T16-13-09Z", None),
    ("registry.local:5000/mirror/minio:v1.2", "registry.local:5000/mirror/minio", "v1.2", None),
    (f"quay.io/minio/operator:v7.1.1@{DIGEST}", "quay.io/minio/operator", "v7.1.1", DIGEST),
])
def test_tagged_images_and_tags_pinned_to_a_digest_are_accepted(
    text: str, repository: str, tag: str, digest: str | None
) -> None:
    ref = parse_image(text)
    assert (ref.repository, ref.tag, ref.digest) == (repository, tag, digest)
    assert str(ref) == text


@pytest.mark.parametrize(("text", "message"), [
    ("quay.io/minio/minio", "has no tag"),
    ("registry.local:5000/minio", "has no tag"),
    (f"quay.io/minio/minio@{DIGEST}", "has a digest but no tag"),
    ("quay.io/minio/minio:latest", "is a moving tag"),
    ("quay.io/minio/minio:v1@sha256:abc", "is not a valid digest"),
    ("quay.io/minio/minio:v1@md5:" + "0" * 32, "is not a valid digest"),
    ("quay.io/MinIO/minio:v1", "is not a valid repository"),
    ("quay.io/minio/minio:bad!tag", "is not a valid image tag"),
    ("quay.io/minio/minio: v1", "is not an image reference"),
    ("", "is not an image reference"),
])
def test_images_the_bot_will_not_deploy(text: str, message: str) -> None:
    with pytest.raises(ImageError) as refused:
        parse_image(text)
    assert message in plain(refused.value.text)


def test_versions_compare_as_release_times_whichever_way_minio_reports_them() -> None:
    when = datetime(2025, 9, 7, 16, 13, 9, tzinfo=UTC)
    assert release_time("RELEASE.2025-09-07T16-13-09Z") == when
    assert release_time("2025-09-07T16:13:09Z") == when
    assert release_time("v7.1.1") is None and release_time(None) is None
    assert same_version("RELEASE.2025-09-07T16-13-09Z", "2025-09-07T16:13:09Z")
    assert compare_versions("RELEASE.2025-09-07T16-13-09Z", "RELEASE.2025-10-15T17-29-55Z") == -1
    assert compare_versions("RELEASE.2025-10-15T17-29-55Z", "RELEASE.2025-09-07T16-13-09Z") == 1
    assert compare_versions("v7.1.1", "v7.1.2") == -1 and compare_versions("v7.1.2", "v7.1.1") == 1
    assert compare_versions("custom-build", "other-build") is None


def test_tags_and_repositories_of_images_already_in_a_spec() -> None:
    assert image_tag("quay.io/minio/minio:RELEASE.X") == "RELEASE.X"
    assert image_tag(f"registry.local:5000/minio:v1@{DIGEST}") == "v1"
    assert image_tag("registry.local:5000/minio") is None and image_tag(None) is None
    assert image_repository(f"registry.local:5000/minio:v1@{DIGEST}") == "registry.local:5000/minio"


@pytest.mark.parametrize(("image", "registry", "repository"), [
    ("quay.io/minio/minio:RELEASE.2025-09-07T16-13-09Z", "quay.io", "minio/minio"),
    ("minio/minio:RELEASE.2025-09-07T16-13-09Z", "docker.io", "minio/minio"),  # no host: Docker Hub
    ("index.docker.io/minio/minio:v1", "docker.io", "minio/minio"),
    ("busybox:1.36", "docker.io", "library/busybox"),
    ("localhost:5000/mirror/minio:v1", "localhost:5000", "mirror/minio"),
])
def test_every_image_names_the_registry_it_really_pulls_from(image: str, registry: str, repository: str) -> None:
    parts = image_parts(image)
    assert (parts.registry, parts.repository) == (registry, repository)


@pytest.mark.parametrize(("source", "entries", "allowed"), [
    ("quay.io/minio/minio", ["quay.io/minio/minio"], True),
    ("quay.io/minio/minio", ["quay.io/"], True),
    ("quay.io/minio/minio", ["quay.io/minio/"], True),
    ("quay.io/minio-mirror/minio", ["quay.io/minio"], False),  # no trailing slash: that repository only
    ("quay.io/minio-mirror/minio", ["quay.io/minio/"], False),
    ("ghcr.io/minio/minio", ["quay.io/"], False),
    ("docker.io/minio/minio", ["minio/minio"], True),  # written without the Hub's host
    ("quay.io.evil.example/minio/minio", ["quay.io/"], False),
])
def test_allow_list_entries_are_registries_prefixes_or_repositories(source: str, entries: list[str],
                                                                      allowed: bool) -> None:
    assert allowed_source(source, entries) is allowed


def test_by_default_only_the_repository_running_now_is_allowed() -> None:
    running = ["quay.io/minio/minio:RELEASE.2025-09-07T16-13-09Z"]
    same = image_source_finding("quay.io/minio/minio:RELEASE.2025-10-15T17-29-55Z", None, running, "allowed_images")
    assert same.ok and "(the repository running now)" in same.detail
    other = image_source_finding("ghcr.io/minio/minio:RELEASE.2025-10-15T17-29-55Z", None, running, "allowed_images")
    assert not other.ok and other.blocking
    assert other.detail.startswith("ghcr.io/minio/minio is not an allowed image source. Allowed: quay.io/minio/minio")
    nothing = image_source_finding("quay.io/minio/minio:v1", None, [], "allowed_images")
    assert not nothing.ok and "none (no image runs now)" in nothing.detail


def test_the_card_shows_registry_repository_tag_and_digest_before_and_after() -> None:
    lines = {c.what: (c.before, c.after) for c in image_changes(
        "Tenant spec.image", "quay.io/minio/minio:RELEASE.2025-09-07T16-13-09Z",
        f"minio/minio:RELEASE.2025-10-15T17-29-55Z@{DIGEST}")}
    assert lines["Tenant spec.image registry"] == ("quay.io", "docker.io")
    assert lines["Tenant spec.image repository"] == ("minio/minio", "minio/minio (unchanged)")
    assert lines["Tenant spec.image tag"] == ("RELEASE.2025-09-07T16-13-09Z", "RELEASE.2025-10-15T17-29-55Z")
    assert lines["Tenant spec.image digest"] == ("none", DIGEST)
