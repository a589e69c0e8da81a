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

What a person typed is first read leniently (the unit spelled as Kubernetes
spells it); the arithmetic is ``kubernetes.utils``' own. The quantity written
to Kubernetes is exact and canonical: the shorter of the largest binary and the
largest decimal unit that divide the byte count (``1.5Ti`` -> ``1536Gi``,
``500GB`` -> ``500G``), else plain bytes. Quantities already in a spec are read
with ``parse_quantity`` as they are.
"""

from __future__ import annotations

import re
from decimal import Decimal

from kubernetes.utils.quantity import format_quantity, parse_quantity

from bot.invocation import UserError
from bot.models import Frozen
from bot.report import code, spans

# What people type (lower-cased, a trailing "b" dropped) -> the Kubernetes suffix it means.
_SUFFIXES = {
    "ki": "Ki", "mi": "Mi", "gi": "Gi", "ti": "Ti", "pi": "Pi", "ei": "Ei",
    "k": "k", "m": "M", "g": "G", "t": "T", "p": "P", "e": "E",
}
_CANONICAL_BINARY = ("Ei", "Pi", "Ti", "Gi", "Mi", "Ki")
_CANONICAL_DECIMAL = ("E", "P", "T", "G", "M", "k")
# Matched against the stripped text: a sign, a number, a unit, a few spaces between them.
_SIZE = re.compile(r"^(?P<sign>[-+]?)\s{0,4}(?P<number>\d+(?:\.\d+)?|\.\d+)\s{0,4}(?P<unit>[A-Za-z]{0,20})$")
_CPU = re.compile(r"^(?P<sign>[-+]?)\s{0,4}(?P<number>\d+(?:\.\d+)?|\.\d+)\s{0,4}(?P<unit>m?)$")

EXAMPLES = spans(code("500Gi"), ", ", code("2TiB"), ", ", code("1.5Ti"), " or ", code("800G"))
CPU_EXAMPLES = spans(code("2"), ", ", code("1.5"), " or ", code("500m"))


class SizeError(UserError):
    """A size or CPU amount that cannot be used; the text says why and what to type."""


class Size(Frozen):
    """A byte count with its exact Kubernetes quantity."""

    bytes: int
    quantity: str  # what goes into a spec: "1536Gi"

    def __str__(self) -> str:
        return self.quantity


class Cpu(Frozen):
    """A CPU amount in millicores with its Kubernetes quantity ("2", "500m")."""

    millicores: int
    quantity: str

    def __str__(self) -> str:
        return self.quantity


def _suffix(unit: str, shown: str) -> str:
    key = unit.lower()
    if key.endswith("b"):
        key = key[:-1]  # "GiB" and "GB" are how people write "Gi" and "G"; a lone "B" is bytes
    if key == "" or key in _SUFFIXES:
        return _SUFFIXES.get(key, "")
    raise SizeError(spans(code(shown), " has an unknown unit ", code(unit[:20]), "; use e.g. ", EXAMPLES, "."))


def _largest_unit(value: int, suffixes: tuple[str, ...]) -> str:
    for suffix in suffixes:
        if value % int(parse_quantity(f"1{suffix}")) == 0:
            return str(format_quantity(Decimal(value), suffix))
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
        raise SizeError(spans(f"The {what} is empty; use e.g. ", EXAMPLES, "."))
    shown = text.strip()[:40]
    match = _SIZE.match(text.strip())
    if match is None:
        raise SizeError(spans(code(shown), f" is not a {what}; use a number and a unit, e.g. ", EXAMPLES, "."))
    if match["sign"] == "-":
        raise SizeError(spans(f"A {what} cannot be negative (", code(shown), "); use e.g. ", EXAMPLES, "."))
    number, unit = match["number"], match["unit"]
    if not unit:
        raise SizeError(spans(code(shown), " has no unit; say which, e.g. ", code(f"{number}Gi"), " (GiB) or ",
                              code(f"{number}G"), " (GB)."))
    exact = parse_quantity(number + _suffix(unit, shown))
    if exact != exact.to_integral_value():
        raise SizeError(spans(code(shown), " is not a whole number of bytes; use a smaller unit."))
    value = int(exact)
    if value <= 0:
        raise SizeError(spans(f"A {what} must be larger than zero (", code(shown), ")."))
    return Size(bytes=value, quantity=canonical_quantity(value))


def parse_cpu(text: str) -> Cpu:
    """Parse a CPU amount: ``2``, ``1.5``, ``500m``; SizeError when zero, negative or unreadable."""
    if not isinstance(text, str) or not text.strip():
        raise SizeError(spans("The CPU amount is empty; use e.g. ", CPU_EXAMPLES, "."))
    shown = text.strip()[:40]
    match = _CPU.match(text.strip())
    if match is None:
        raise SizeError(spans(code(shown), " is not a CPU amount; use e.g. ", CPU_EXAMPLES, "."))
    if match["sign"] == "-":
        raise SizeError(spans("A CPU amount cannot be negative (", code(shown), ")."))
    milli = parse_quantity(match["number"] + match["unit"]) * 1000
    if milli != milli.to_integral_value():
        raise SizeError(spans(code(shown), " is finer than a millicore; use e.g. ", code("1500m"), "."))
    value = int(milli)
    if value <= 0:
        raise SizeError(spans("A CPU amount must be larger than zero (", code(shown), ")."))
    return Cpu(millicores=value, quantity=str(value // 1000) if value % 1000 == 0 else f"{value}m")


def _spec_quantity(value: object) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return Decimal(str(parse_quantity(value.strip() if isinstance(value, str) else value)))
    except (ValueError, ArithmeticError):
        return None


def quantity_bytes(value: object) -> int | None:
    """Bytes in a quantity already in a spec ("1Ti", "500G", 1099511627776); None when unreadable."""
    exact = _spec_quantity(value)
    return int(exact) if exact is not None and exact == exact.to_integral_value() else None


def cpu_millicores(value: object) -> int | None:
    """Millicores in a CPU quantity already in a spec ("2", "500m", 2); None when unreadable."""
    exact = _spec_quantity(value)
    return int(exact * 1000) if exact is not None else None


def parse_limits(text: str | None) -> dict[str, str]:
    """`cpu=4,memory=16Gi` -> {"cpu": "4", "memory": "16Gi"} (validated quantities)."""
    if not text:
        return {}
    out: dict[str, str] = {}
    for part in text.split(","):
        key, eq, value = part.strip().partition("=")
        key = key.strip().lower()
        if not eq or key not in ("cpu", "memory") or not value.strip():
            raise SizeError(spans(code("--limits"), " takes ", code("cpu=X,memory=Y"), " (either or both), not ",
                                  code(part.strip()[:40]), "."))
        out[key] = parse_cpu(value).quantity if key == "cpu" else parse_size(value, what="memory").quantity
    return out
