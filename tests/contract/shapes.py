"""Load contract fixtures and compare an answer with one: status, headers, fields, types, formats."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, cast
from xml.etree import ElementTree

from minio.crypto import decrypt, encrypt
from prometheus_client.parser import text_string_to_metric_families
from urllib3 import BaseHTTPResponse

FIXTURES = Path(__file__).parent / "fixtures"
_FRACTION = re.compile(r"\.(\d+)")


@dataclass(frozen=True)
class Fixture:
    """One real-server answer and the contract it implies."""

    name: str
    about: str
    method: str
    path: str
    query: dict[str, str]
    status: int
    headers: dict[str, str]
    body: Any  # parsed JSON, or None for an empty body
    text: str | None  # non-JSON body (metrics exposition)
    xml: str | None = None  # an S3 XML body
    contract: dict[str, Any] = field(default_factory=dict)
    # A streamed answer (Go's json.Encoder: one JSON value per line), e.g. the speed test's progress and result.
    stream: list[Any] | None = None
    # The server encrypts a 2xx body with the caller's secret key (madmin EncryptData); the fixture shows it plain.
    encrypted: bool = False

    @property
    def raw_body(self) -> bytes:
        """The body bytes as the server sends them."""
        if self.xml is not None:
            return self.xml.encode()
        if self.stream is not None:
            return "".join(json.dumps(value) + "\n" for value in self.stream).encode()
        if self.text is not None:
            return self.text.encode()
        return b"" if self.body is None else json.dumps(self.body).encode()


def load(name: str) -> Fixture:
    """Read ``fixtures/<name>.json``."""
    doc = json.loads((FIXTURES / f"{name}.json").read_text())
    response = doc["response"]
    return Fixture(
        name=name,
        about=doc["about"],
        method=doc["request"]["method"],
        path=doc["request"]["path"],
        query=dict(doc["request"].get("query") or {}),
        status=response["status"],
        headers=dict(response.get("headers") or {}),
        body=response.get("body"),
        text=response.get("text"),
        xml=response.get("xml"),
        contract=dict(doc.get("contract") or {}),
        stream=response.get("stream"),
        encrypted=bool(doc.get("encrypted")),
    )


class _Buffered(io.BytesIO):
    """Bytes shaped like the urllib3 response ``minio.crypto.decrypt`` reads from."""

    def release_conn(self) -> None:
        """Nothing to release."""


def sealed(body: bytes, secret_key: str) -> bytes:
    """``body`` encrypted as MinIO encrypts admin answers for the caller (sio/DARE)."""
    return encrypt(body, secret_key)


def unsealed(body: bytes, secret_key: str) -> bytes:
    """An encrypted admin answer, decrypted with the caller's secret key."""
    return decrypt(cast(BaseHTTPResponse, _Buffered(body)), secret_key)


def all_names() -> list[str]:
    """Every fixture, by name."""
    return sorted(p.stem for p in FIXTURES.glob("*.json"))


# ---------------------------------------------------------------- comparison


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    if isinstance(value, list):
        return "list"
    return "dict"


def _compatible(expected: Any, actual: Any) -> bool:
    want, got = _kind(expected), _kind(actual)
    if want == "null":
        return True
    if want == "float":  # Go writes a float64 with no fraction as an integer
        return got in ("float", "int")
    return want == got


def shape_problems(
    expected: Any,
    actual: Any,
    *,
    maps: Iterable[str] = (),
    list_keys: Mapping[str, str] | None = None,
    path: str = "",
) -> list[str]:
    """Every field of ``expected`` must be in ``actual`` with the same JSON type, recursively.

    ``maps`` name dicts whose keys are data (bucket names, endpoints, pool indexes): each
    actual value is compared with the first expected value. ``list_keys`` name lists whose
    elements differ by a discriminating field (``servers`` by ``state``): each actual element
    is compared with the expected element of the same discriminator. Extra fields are fine.
    """
    maps = frozenset(maps)
    list_keys = dict(list_keys or {})
    where = path or "$"
    if not _compatible(expected, actual):
        return [f"{where}: expected {_kind(expected)}, got {_kind(actual)}"]
    problems: list[str] = []
    if isinstance(expected, dict):
        if path in maps:
            if expected and not actual:
                return [f"{where}: expected entries, got none"]
            template = next(iter(expected.values()), None)
            for value in actual.values():
                problems += shape_problems(template, value, maps=maps, list_keys=list_keys, path=_join(path, "*"))
            return problems
        for key, value in expected.items():
            if key not in actual:
                problems.append(f"{_join(path, key)}: missing")
                continue
            problems += shape_problems(value, actual[key], maps=maps, list_keys=list_keys, path=_join(path, key))
        return problems
    if isinstance(expected, list) and expected:
        if not actual:
            return [f"{where}: expected elements, got none"]
        discriminator = list_keys.get(path)
        for index, element in enumerate(actual):
            template = expected[0]
            if discriminator is not None:
                matches = [e for e in expected if e.get(discriminator) == element.get(discriminator)]
                if not matches:
                    problems.append(f"{where}[{index}]: {discriminator}={element.get(discriminator)!r} not in contract")
                    continue
                template = matches[0]
            problems += shape_problems(template, element, maps=maps, list_keys=list_keys, path=f"{path}[]")
    return problems


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def values_at(doc: Any, path: str) -> list[Any]:
    """Values at a dotted path where ``[]`` means every element: ``servers[].version``, ``[].elapsed``."""
    current = [doc]
    for part in path.split("."):
        name, every = (part[:-2], True) if part.endswith("[]") else (part, False)
        step: list[Any] = []
        for value in current:
            if name:
                if not isinstance(value, dict) or name not in value:
                    continue
                value = value[name]
            if every:
                step.extend(value if isinstance(value, list) else [])
            else:
                step.append(value)
        current = step
    return current


def format_problems(doc: Any, formats: Mapping[str, str]) -> list[str]:
    """Check string/number formats at paths: ``rfc3339`` timestamps, ``go-duration-ns`` durations."""
    problems = []
    for path, fmt in formats.items():
        values = values_at(doc, path)
        if not values:
            problems.append(f"{path}: no value to check")
        for value in values:
            if not _format_ok(fmt, value):
                problems.append(f"{path}: {value!r} is not {fmt}")
    return problems


def _format_ok(fmt: str, value: Any) -> bool:
    if fmt == "rfc3339":
        if not isinstance(value, str) or "T" not in value:
            return False
        # Go writes up to nanoseconds; Python parses at most microseconds.
        text = _FRACTION.sub(lambda m: "." + m[1][:6].ljust(6, "0"), value.replace("Z", "+00:00"), count=1)
        try:
            return datetime.fromisoformat(text).tzinfo is not None
        except ValueError:
            return False
    if fmt == "go-duration-ns":
        return isinstance(value, int) and not isinstance(value, bool) and value >= 0
    raise ValueError(f"unknown format {fmt}")


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header value, case-insensitively."""
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value
    return None


def answer_problems(fixture: Fixture, status: int, headers: Mapping[str, str], body: bytes) -> list[str]:
    """Everything in which an answer breaks the fixture's contract."""
    problems = []
    if status != fixture.status:
        problems.append(f"status {status}, contract {fixture.status}")
    contract = fixture.contract
    for name in contract.get("headers_present", []):
        if header(headers, name) is None:
            problems.append(f"header {name} missing")
    for name in contract.get("headers_absent", []):
        if header(headers, name) is not None:
            problems.append(f"header {name} must not be sent (got {header(headers, name)!r})")
    for name, allowed in contract.get("header_values", {}).items():
        value = header(headers, name)
        if value is not None and value not in allowed:
            problems.append(f"header {name}: {value!r} not one of {allowed}")
    if fixture.xml is not None:
        problems += xml_problems(fixture, body)
    elif fixture.stream is not None:
        problems += _stream_problems(fixture, body)
    elif fixture.text is not None:
        problems += _metrics_problems(fixture, body.decode())
    elif fixture.body is None:
        if body.strip():
            problems.append(f"expected an empty body, got {len(body)} bytes")
    else:
        try:
            doc = json.loads(body)
        except ValueError:
            return [*problems, "body is not JSON"]
        problems += shape_problems(
            fixture.body, doc, maps=contract.get("maps", ()), list_keys=contract.get("list_keys")
        )
        problems += format_problems(doc, contract.get("formats", {}))
    return problems


def _metrics_problems(fixture: Fixture, text: str) -> list[str]:
    samples = [s for family in text_string_to_metric_families(text) for s in family.samples]
    names = {s.name for s in samples}
    problems = [f"metric {name} missing" for name in fixture.contract.get("metrics_present", []) if name not in names]
    for spec, fmt in fixture.contract.get("metric_label_formats", {}).items():
        metric, _, label = spec.partition(".")
        values = [s.labels[label] for s in samples if s.name == metric and label in s.labels]
        if not values:
            problems.append(f"metric {metric} with label {label} missing")
        problems += [f"{spec}: {v!r} is not {fmt}" for v in values if not _format_ok(fmt, v)]
    return problems


def xml_problems(fixture: Fixture, body: bytes) -> list[str]:
    """S3 XML: the root element, element paths that must be present (``Rule/Expiration/Days``, namespace
    ignored) and exact texts (``Code``: ``NoSuchLifecycleConfiguration``)."""
    try:
        root = ElementTree.fromstring(body)  # noqa: S314 - the answer of a local test server
    except ElementTree.ParseError:
        return ["body is not XML"]
    problems = []
    want_root = fixture.contract.get("xml_root")
    if want_root and _local(root.tag) != want_root:
        problems.append(f"root element {_local(root.tag)}, contract {want_root}")
    for path in fixture.contract.get("xml_present", []):
        if not _xml_find(root, path):
            problems.append(f"element {path} missing")
    for path, value in fixture.contract.get("xml_values", {}).items():
        found = [(e.text or "").strip() for e in _xml_find(root, path)]
        if value not in found:
            problems.append(f"{path}: {found!r}, contract {value!r}")
    return problems


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _xml_find(root: ElementTree.Element, path: str) -> list[ElementTree.Element]:
    current = [root]
    for name in path.split("/"):
        current = [child for element in current for child in element if _local(child.tag) == name]
    return current
def stream_values(body: bytes) -> list[Any]:
    """The JSON values of a streamed body (whitespace between them, as Go's json.Encoder writes them)."""
    decoder, text, at, values = json.JSONDecoder(), body.decode(), 0, []
    while True:
        while at < len(text) and text[at].isspace():
            at += 1
        if at >= len(text):
            return values
        value, at = decoder.raw_decode(text, at)
        values.append(value)


def _stream_problems(fixture: Fixture, body: bytes) -> list[str]:
    """Every value has the shape of the stream's first (keep-alive) value; the last has the shape of the last."""
    assert fixture.stream
    try:
        values = stream_values(body)
    except ValueError:
        return ["body is not a stream of JSON values"]
    if not values:
        return ["the stream holds no value"]
    problems = []
    for index, value in enumerate(values):
        problems += [f"value {index}: {p}" for p in shape_problems(fixture.stream[0], value)]
    contract = fixture.contract
    last = shape_problems(fixture.stream[-1], values[-1], maps=contract.get("maps", ()),
                          list_keys=contract.get("list_keys"))
    problems += [f"last value: {p}" for p in last]
    problems += format_problems(values[-1], contract.get("formats", {}))
    return problems
