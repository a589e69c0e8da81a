"""Sizes and CPU amounts as people type them, turned into exact Kubernetes quantities.

Users write ``10Gi``, ``10GiB``, ``10 G``, ``1.5Ti`` or ``500GB``; Kubernetes
wants a quantity such as ``10Gi`` or ``1536Gi``. The rules:

- ``Ki Mi Gi Ti Pi Ei`` (with or without a trailing ``B``) are powers of 1024;
  ``k/K M G T P E`` (with or without ``B``) are powers of 1000, as Kubernetes
  reads them. Units are case-insensitive, because nobody means milli-bytes.
- Decimals are fine (``1.5Ti``) when the result is a whole number of bytes.
- A bare number is refused: ``100`` is far more often a forgotten unit than a
  100-byte drive.
- Zero, negative and unreadable sizes are refused with a message that says
  what to type instead.

The quantity written to Kubernetes is exact and canonical: the shorter of the
largest binary and the largest decimal unit that divide the byte count
(``1.5Ti`` -> ``1536Gi``, ``500GB`` -> ``500G``), else plain bytes.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from pydantic import BaseModel, ConfigDict

_BINARY = {"ki": 2**10, "mi": 2**20, "gi": 2**30, "ti": 2**40, "pi": 2**50, "ei": 2**60}
_DECIMAL = {"k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12, "p": 10**15, "e": 10**18}
_CANONICAL_BINARY = (("Ei", 2**60), ("Pi", 2**50), ("Ti", 2**40), ("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10))
_CANONICAL_DECIMAL = (("E", 10**18), ("P", 10**15), ("T", 10**12), ("G", 10**9), ("M", 10**6), ("k", 10**3))
_SIZE = re.compile(r"^\s*(?P<sign>[-+]?)\s*(?P<number>\d+(?:\.\d+)?|\.\d+)\s*(?P<unit>[A-Za-z]*)\s*$")
_CPU = re.compile(r"^\s*(?P<sign>[-+]?)\s*(?P<number>\d+(?:\.\d+)?|\.\d+)\s*(?P<unit>m?)\s*$")

EXAMPLES = "`500Gi`, `2TiB`, `1.5Ti` or `800G`"


class SizeError(ValueError):
    """A size or CPU amount that cannot be used; the message says why and what to type."""


class Size(BaseModel):
    """A byte count with its exact Kubernetes quantity."""

    model_config = ConfigDict(frozen=True)

    bytes: int
    quantity: str  # what goes into a spec: "1536Gi"

    def __str__(self) -> str:
        return self.quantity


class Cpu(BaseModel):
    """A CPU amount in millicores with its Kubernetes quantity ("2", "500m")."""

    model_config = ConfigDict(frozen=True)

    millicores: int
    quantity: str

    def __str__(self) -> str:
        return self.quantity


def _unit_factor(unit: str, text: str) -> int:
    key = unit.lower()
    if key.endswith("b"):
        key = key[:-1]  # "GiB" and "GB" are how people write "Gi" and "G"
    if key in _BINARY:
        return _BINARY[key]
    if key in _DECIMAL:
        return _DECIMAL[key]
    if key == "" and unit:  # a lone "B"
        return 1
    raise SizeError(f"`{text.strip()[:40]}` has an unknown unit `{unit[:20]}`; use e.g. {EXAMPLES}.")


def _largest_unit(value: int, units: tuple[tuple[str, int], ...]) -> str:
    for suffix, factor in units:
        if value % factor == 0:
            return f"{value // factor}{suffix}"
    return str(value)


def canonical_quantity(value: int) -> str:
    """The exact quantity for ``value`` bytes: the shorter of its largest binary and decimal forms (binary on ties).

    So `1.5Ti` -> `1536Gi`, `10GB` -> `10G`, `2048Mi` -> `2Gi`.
    """
    binary, decimal = _largest_unit(value, _CANONICAL_BINARY), _largest_unit(value, _CANONICAL_DECIMAL)
    return decimal if len(decimal) < len(binary) else binary


def parse_size(text: str, *, what: str = "size") -> Size:
    """Parse a size as a person types it; SizeError (with a usable message) when it makes no sense."""
    if not isinstance(text, str) or not text.strip():
        raise SizeError(f"The {what} is empty; use e.g. {EXAMPLES}.")
    match = _SIZE.match(text)
    if match is None:
        raise SizeError(f"`{text.strip()[:40]}` is not a {what}; use a number and a unit, e.g. {EXAMPLES}.")
    if match["sign"] == "-":
        raise SizeError(f"A {what} cannot be negative (`{text.strip()[:40]}`); use e.g. {EXAMPLES}.")
    unit = match["unit"]
    if not unit:
        raise SizeError(
            f"`{text.strip()[:40]}` has no unit; say which, e.g. `{match['number']}Gi` (GiB) or "
            f"`{match['number']}G` (GB)."
        )
    factor = _unit_factor(unit, text)
    try:
        exact = Decimal(match["number"]) * factor
    except InvalidOperation:
        raise SizeError(f"`{text.strip()[:40]}` is not a number we can read.") from None
    if exact != exact.to_integral_value():
        raise SizeError(f"`{text.strip()[:40]}` is not a whole number of bytes; use a smaller unit.")
    value = int(exact)
    if value <= 0:
        raise SizeError(f"A {what} must be larger than zero (`{text.strip()[:40]}`).")
    return Size(bytes=value, quantity=canonical_quantity(value))


def parse_cpu(text: str) -> Cpu:
    """Parse a CPU amount: ``2``, ``1.5``, ``500m``; SizeError when zero, negative or unreadable."""
    if not isinstance(text, str) or not text.strip():
        raise SizeError("The CPU amount is empty; use e.g. `2`, `1.5` or `500m`.")
    match = _CPU.match(text)
    if match is None:
        raise SizeError(f"`{text.strip()[:40]}` is not a CPU amount; use e.g. `2`, `1.5` or `500m`.")
    if match["sign"] == "-":
        raise SizeError(f"A CPU amount cannot be negative (`{text.strip()[:40]}`).")
    number = Decimal(match["number"])
    milli = number if match["unit"] == "m" else number * 1000
    if milli != milli.to_integral_value():
        raise SizeError(f"`{text.strip()[:40]}` is finer than a millicore; use e.g. `1500m`.")
    value = int(milli)
    if value <= 0:
        raise SizeError(f"A CPU amount must be larger than zero (`{text.strip()[:40]}`).")
    quantity = str(value // 1000) if value % 1000 == 0 else f"{value}m"
    return Cpu(millicores=value, quantity=quantity)


def quantity_bytes(value: object) -> int | None:
    """Bytes in a quantity already in a spec ("1Ti", "500G", 1099511627776); None when unreadable."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if not isinstance(value, str):
        return None
    if value.strip().isdigit():  # a spec may hold plain bytes; only people are asked for a unit
        return int(value.strip())
    try:
        return parse_size(value).bytes
    except SizeError:
        return None


def cpu_millicores(value: object) -> int | None:
    """Millicores in a CPU quantity already in a spec ("2", "500m", 2); None when unreadable."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(Decimal(str(value)) * 1000)
    if not isinstance(value, str):
        return None
    try:
        return parse_cpu(value).millicores
    except SizeError:
        return None
