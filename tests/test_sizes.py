"""Sizes and CPU amounts as people type them: every unit they use, and the nonsense they sometimes send."""

from __future__ import annotations

import pytest

from handlers.scaling.quantities import (
    SizeError,
    canonical_quantity,
    cpu_millicores,
    parse_cpu,
    parse_size,
    quantity_bytes,
)
from tests.reading import plain

GI, TI = 2**30, 2**40


@pytest.mark.parametrize(
    ("text", "size", "quantity"),
    [
        ("10Gi", 10 * GI, "10Gi"),
        ("10GiB", 10 * GI, "10Gi"),
        ("10gib", 10 * GI, "10Gi"),
        ("10 Gi", 10 * GI, "10Gi"),
        (" 2 TiB ", 2 * TI, "2Ti"),
        ("1.5Ti", 1536 * GI, "1536Gi"),
        (".5Ti", 512 * GI, "512Gi"),
        ("10G", 10 * 10**9, "10G"),
        ("10GB", 10 * 10**9, "10G"),
        ("500gb", 500 * 10**9, "500G"),
        ("1.5T", 1_500 * 10**9, "1500G"),
        ("2048Mi", 2 * GI, "2Gi"),
        ("1000M", 10**9, "1G"),
        ("4096B", 4096, "4Ki"),
        ("+1Ti", TI, "1Ti"),
        ("1Pi", 2**50, "1Pi"),
    ],
)
def test_sizes_in_every_unit_people_type_become_exact_kubernetes_quantities(
    text: str, size: int, quantity: str
) -> None:
    parsed = parse_size(text)
    assert (parsed.bytes, parsed.quantity) == (size, quantity)
    assert quantity_bytes(parsed.quantity) == size, "the quantity written reads back as the same size"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("-5Gi", "cannot be negative"),
        ("10 bananas", "unknown unit `bananas`"),
        ("0Gi", "larger than zero"),
        ("100", "has no unit; say which, e.g. `100Gi` (GiB) or `100G` (GB)"),
        ("", "is empty"),
        ("Gi", "is not a size"),
        ("1e3Gi", "is not a size"),
        ("1,5Ti", "is not a size"),
        ("10Gi 5Gi", "is not a size"),
        ("0.1B", "not a whole number of bytes"),
        ("1.0000000001Ki", "not a whole number of bytes"),
        ("5 XiB", "unknown unit `XiB`"),
    ],
)
def test_nonsense_sizes_are_refused_with_what_to_type_instead(text: str, message: str) -> None:
    with pytest.raises(SizeError) as refused:
        parse_size(text)
    assert message in plain(refused.value.text)


@pytest.mark.parametrize(("text", "milli", "quantity"), [
    ("2", 2000, "2"), ("500m", 500, "500m"), ("1.5", 1500, "1500m"), ("0.25", 250, "250m"), (" 4 ", 4000, "4"),
])
def test_cpu_amounts(text: str, milli: int, quantity: str) -> None:
    cpu = parse_cpu(text)
    assert (cpu.millicores, cpu.quantity) == (milli, quantity)
    assert cpu_millicores(cpu.quantity) == milli


@pytest.mark.parametrize(("text", "message"), [
    ("-1", "cannot be negative"), ("0", "larger than zero"), ("two", "not a CPU amount"),
    ("1.0005", "finer than a millicore"), ("2Gi", "not a CPU amount"),
])
def test_bad_cpu_amounts(text: str, message: str) -> None:
    with pytest.raises(SizeError) as refused:
        parse_cpu(text)
    assert message in plain(refused.value.text)


def test_quantities_already_in_a_spec_are_read_leniently() -> None:
    assert quantity_bytes("1099511627776") == TI, "plain bytes are fine in a spec"
    assert quantity_bytes(TI) == TI
    assert quantity_bytes("garbage") is None and quantity_bytes(None) is None
    assert cpu_millicores(2) == 2000 and cpu_millicores("lots") is None
    assert canonical_quantity(3 * 10**9 + 1) == str(3 * 10**9 + 1)
