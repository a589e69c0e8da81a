"""The shape of the code (issue 12): one-way layers, no import cycles, capabilities loaded by name.

Read with the standard library's `ast`, so a test fails the moment someone
adds an import that breaks the layering, even one hidden inside a function.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "handlers")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for package in PACKAGES for p in sorted((ROOT / package).rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(path: Path, module: str, known: set[str], *, with_typing: bool) -> set[str]:
    """Project modules imported anywhere in the file (functions included; TYPE_CHECKING blocks if asked)."""
    tree = ast.parse(path.read_text(), str(path))
    skipped: set[int] = set()
    if not with_typing:
        for node in ast.walk(tree):
            if isinstance(node, ast.If) and _is_type_checking(node):
                skipped |= {id(child) for stmt in node.body for child in ast.walk(stmt)}
    found: set[str] = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base]) if base else ".".join(anchor)
            # `from pkg import submodule` depends on the submodule; `from pkg import name`, on pkg.
            names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name and name != module:
                found.add(name)
    return found


def _graph(*, with_typing: bool = False) -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {name: _imports(path, name, known, with_typing=with_typing) for name, path in modules.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_framework_never_imports_a_capability() -> None:
    graph = _graph(with_typing=True)
    offenders = {m: sorted(t for t in targets if t.split(".")[0] == "handlers")
                 for m, targets in graph.items() if m.split(".")[0] == "bot"}
    assert {m: t for m, t in offenders.items() if t} == {}


def test_no_import_cycles_in_bot_or_handlers() -> None:
    """Imports that run (top level or inside functions) form no cycle; the layering is one-way."""
    assert _cycles(_graph()) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    """The check above can fail: a two-module loop is reported."""
    assert _cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]


def test_every_capability_named_by_the_composition_root_declares_itself() -> None:
    import handlers
    from bot.composition import load_application

    app = load_application()
    assert app.capabilities[0].name == "approval-engine"
    assert len(app.capabilities) == len(handlers.CAPABILITIES) + 1
    for capability in app.capabilities:
        assert capability.doc and capability.doc.strip(), f"{capability.name} says what it does"


# ----------------------------------------------------------------------------- capabilities write no markup

_MARKUP = {
    "a backtick (code span)": re.compile(r"`"),
    "*bold*": re.compile(r"(?<![\w*])\*[^*\s][^*\n]*\*(?![\w*])"),
    "a Slack mention or link (<@, <#, <!, <http)": re.compile(r"<[@#!]|<https?:"),
    "an :emoji: code": re.compile(r"(?<![\w:]):[a-z0-9_+-]+:(?![\w:])"),
    "an HTML entity": re.compile(r"&(lt|gt|amp);"),
}
_SLACK_KNOWLEDGE = {
    "a Slack limit or delivery detail": re.compile(
        r"MAX_BLOCKS|SECTION_TEXT|msg_blocks_too_long|Retry-After|ratelimited"
    ),
}
_FORBIDDEN_IMPORTS = ("slack_sdk", "slack_bolt", "bot.render", "bot.slack", "bot.commands.escape")


def _docstring_ids(tree: ast.AST) -> set[int]:
    ids: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                ids.add(id(first.value))
    return ids


def markup_problems(source: str, filename: str = "<string>") -> list[str]:
    """Where a capability's code writes Slack markup, knows a Slack limit, or imports Slack/renderers."""
    tree = ast.parse(source, filename)
    docstrings = _docstring_ids(tree)
    problems: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            for what, pattern in {**_MARKUP, **_SLACK_KNOWLEDGE}.items():
                if pattern.search(node.value):
                    problems.append(f"{filename}:{node.lineno}: {what} in {node.value[:60]!r}")
        elif isinstance(node, ast.ImportFrom | ast.Import):
            names = [a.name for a in node.names]
            modules = [node.module or ""] if isinstance(node, ast.ImportFrom) else names
            full = [f"{node.module}.{n}" for n in names] if isinstance(node, ast.ImportFrom) else names
            for name in [*modules, *full]:
                if name.startswith(_FORBIDDEN_IMPORTS):
                    problems.append(f"{filename}:{node.lineno}: imports {name}")
        elif isinstance(node, ast.Name | ast.Attribute):
            name = node.id if isinstance(node, ast.Name) else node.attr
            if _SLACK_KNOWLEDGE["a Slack limit or delivery detail"].fullmatch(name):
                problems.append(f"{filename}:{node.lineno}: uses {name}")
    return problems


def _capability_packages() -> list[Path]:
    return sorted(p for p in (ROOT / "handlers").iterdir() if (p / "__init__.py").exists())


def test_capabilities_write_no_markup_know_no_slack_limit_and_retry_nothing() -> None:
    problems = [
        problem
        for package in _capability_packages()
        for path in sorted(package.rglob("*.py"))
        for problem in markup_problems(path.read_text(), str(path.relative_to(ROOT)))
    ]
    assert problems == []


def test_the_markup_check_finds_markup() -> None:
    bad = '''
def f(name):
    """Docstrings may show `code`."""
    return f"Tenant `{name}` is *down*, ask <@U1> :warning:"
'''
    found = markup_problems(bad)
    assert any("backtick" in p for p in found) and any("*bold*" in p for p in found)
    assert any("mention" in p for p in found) and any("emoji" in p for p in found)
    assert markup_problems('"""Only `docs`."""\nx = "plain words: 3:30, a*b*c"\n') == []
    assert markup_problems("from bot.commands import escape\n") == ["<string>:1: imports bot.commands.escape"]


# ----------------------------------------------------------------------------- size and shape

MAX_FUNCTION_LINES = 60
LONG_OK = "# long:"  # a comment on the def line or just above it says why a function may be longer


def long_functions(source: str, filename: str = "<string>") -> list[str]:
    """Functions longer than MAX_FUNCTION_LINES without a `# long: <reason>` beside them."""
    lines = source.splitlines()
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            nearby = " ".join(lines[max(0, first - 2) : node.lineno])
            if length > MAX_FUNCTION_LINES and LONG_OK not in nearby:
                found.append(f"{filename}:{node.lineno} {node.name} ({length} lines)")
    return found


def test_no_product_function_is_over_60_lines_without_a_reason() -> None:
    offenders = [
        problem
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        for problem in long_functions(path.read_text(), str(path.relative_to(ROOT)))
    ]
    assert offenders == []


def test_the_length_check_finds_a_long_function() -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(70))
    assert long_functions(f"def f():\n{body}\n") == ["<string>:1 f (71 lines)"]
    assert long_functions(f"# long: a table, one line per case\ndef f():\n{body}\n") == []


def test_every_capability_is_one_package() -> None:
    """handlers/ holds packages only (plus its __init__, which names them)."""
    loose = sorted(p.name for p in (ROOT / "handlers").glob("*.py") if p.name != "__init__.py")
    assert loose == []
    import handlers

    packages = {f"handlers.{p.name}" for p in _capability_packages()}
    assert set(handlers.CAPABILITIES) == packages
