"""Image references an upgrade accepts, and MinIO versions compared as release times."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from handlers.updates.images import (
    ImageError,
    compare_versions,
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
