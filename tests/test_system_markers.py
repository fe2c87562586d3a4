"""Tests that need Chromium, playwright or bubblewrap say so with the ``browser`` and ``sandbox``
markers only. tests/conftest.py turns those into a skip that names the install command, and into a
failure in CI (LABKIT_REQUIRE_SYSTEM_TESTS=1, .ci/run); a test module's own ``skipif`` on the same
tools would skip in CI too, silently. This reads every test module and finds none."""
import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent
# what such a condition names: the browser, its driver, the sandbox
TOOLS = ("chromium", "chrome", "playwright", "bwrap", "bubblewrap")
SKIPS = {"skip", "skipif", "importorskip", "skipIf", "skipUnless", "xfail"}
# the one place that turns the markers into skips
ALLOWED = {TESTS / "conftest.py"}


def _skip_name(node) -> str | None:
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
    return name if name in SKIPS else None


def own_skips(source: str) -> list:
    """(line, text) of each skip in ``source`` whose condition or reason names one of TOOLS: the call,
    the ``if`` tests around it, and the module-level assignments of the names they use."""
    tree = ast.parse(source)
    assigned = {}
    for node in tree.body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for name in ast.walk(target):
                    if isinstance(name, ast.Name):
                        assigned.setdefault(name.id, []).append(ast.get_source_segment(source, node) or "")
        elif isinstance(node, ast.Try):  # try: from playwright... import X / except ImportError: X = None
            for inner in ast.walk(node):
                if isinstance(inner, (ast.Import, ast.ImportFrom)):
                    for alias in inner.names:
                        text = ast.get_source_segment(source, inner) or ""
                        assigned.setdefault((alias.asname or alias.name).split(".")[0], []).append(text)
    parents = {child: parent for parent in ast.walk(tree) for child in ast.iter_child_nodes(parent)}
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and _skip_name(node)):
            continue
        parts, up = [node], parents.get(node)
        while up is not None:
            if isinstance(up, (ast.If, ast.IfExp, ast.While)):
                parts.append(up.test)
            up = parents.get(up)
        texts = [ast.get_source_segment(source, part) or "" for part in parts]
        names = {n.id for part in parts for n in ast.walk(part) if isinstance(n, ast.Name)}
        texts += [text for name in names for text in assigned.get(name, [])]
        if any(tool in text.lower() for text in texts for tool in TOOLS):
            found.append((node.lineno, texts[0]))
    return found


def test_no_test_module_skips_on_its_own_for_the_browser_or_the_sandbox():
    offenders = {str(path.relative_to(TESTS)): skips for path in sorted(TESTS.rglob("*.py"))
                 if path not in ALLOWED and (skips := own_skips(path.read_text()))}
    assert offenders == {}, "use the browser/sandbox markers instead (tests/conftest.py): " + repr(offenders)


def test_the_check_finds_such_skips():
    """The patterns a module could use, each found (so the test above can fail)."""
    direct = 'import pytest, shutil\npytestmark = [pytest.mark.skipif(shutil.which("bwrap") is None, reason="no")]\n'
    by_name = ('import shutil\nimport pytest\nCHROMIUM = shutil.which("chromium")\n'
               '@pytest.mark.skipif(CHROMIUM is None, reason="missing")\ndef test_x():\n    pass\n')
    by_import = ('import pytest\ntry:\n    from playwright.sync_api import sync_playwright\nexcept ImportError:\n'
                 '    sync_playwright = None\nmark = pytest.mark.skipif(sync_playwright is None, reason="x")\n')
    in_body = ('import pytest, shutil\ndef test_x():\n    if shutil.which("chromium-browser") is None:\n'
               '        pytest.skip("no browser")\n')
    imported = 'import pytest\nplaywright = pytest.importorskip("playwright")\n'
    for source in (direct, by_name, by_import, in_body, imported):
        assert own_skips(source), source
    fine = ('import pytest\npytestmark = [pytest.mark.browser, pytest.mark.sandbox]\n'
            'def test_x():\n    pytest.skip("no pids cgroup for this user")\n')
    assert own_skips(fine) == []
