"""Submissions built from an assignment's own structure: correct, blank, partial and misbehaving.

The pipeline tests and ``python -m grader time`` use them, so every assignment in course/source is
graded the same way with no code written for it. A *part* is an answer cell and the test cells
that follow it (course/README.md); points are the test cells' points.

Each submission comes with the autograded points it must get. Those marked ``every`` are tried on
every assignment; the others exercise the machinery the same way whatever the assignment (a process
that exits, a flood of output, a patched kernel...) and are tried on the first assignment, or on
all of them with ``LABKIT_GRADING_TESTS=full``.
"""
from __future__ import annotations

import ast
import copy
import textwrap
from dataclasses import dataclass
from pathlib import Path

import nbformat

from grader.build import COURSE, REPO, nbgrader_meta
from grader.classroom import (  # noqa: F401 (the tests use them from here)
    Notebook,
    Part,
    answer_cell,
    notebooks,
    with_parts,
    write_submission,
)

# ----------------------------------------------------------------------------------------------
# editing notebooks


def _cells(nb, predicate):
    return [c for c in nb.cells if predicate(nbgrader_meta(c), c)]


def _is_test(meta, cell):
    return cell.cell_type == "code" and meta.get("grade") and not meta.get("solution")



WARNS = """

import numpy as _np, sys as _sys, warnings as _warnings
_warnings.simplefilter("always")  # every call warns, not only the first


def _warns(f, wrong=False):
    def answer(*args, **kwargs):
        _np.mean(_np.array([]))  # RuntimeWarning: Mean of empty slice
        _warnings.warn("a warning from the answer", UserWarning)
        print("what a progress bar writes", file=_sys.stderr)
        return None if wrong else f(*args, **kwargs)
    return answer


"""


def _functions(code: str) -> list:
    try:
        return [n.name for n in ast.parse(code).body if isinstance(n, ast.FunctionDef)]
    except SyntaxError:
        return []


def warning(code: str, wrong: bool = False) -> str:
    """``code`` (an answer) with every function it defines warning on every call, through numpy, the
    warnings module and a plain write to stderr; ``wrong``: the functions then return None."""
    names = _functions(code)
    return (code + WARNS + "\n".join(f"{n} = _warns({n}, wrong={wrong})" for n in names)
            + ("" if names else "\n_np.mean(_np.array([]))"))


def alone(nbk: Notebook, i: int):
    """Part ``i``'s answer (warning on every call) and every other part left blank."""
    nb = nbk.student()
    part = nbk.parts[i]
    answer_cell(nb, part.answer).source = warning(nbk.answer_source(part.answer))
    return nb


def warns_wrong(nbk: Notebook):
    """Every answer that defines functions: they warn and return None; the other answers blank."""
    nb = nbk.student()
    for part in nbk.parts:
        code = nbk.answer_source(part.answer)
        if _functions(code):
            answer_cell(nb, part.answer).source = warning(code, wrong=True)
    return nb


def prepend(nb, grade_id: str, code: str):
    cell = answer_cell(nb, grade_id)
    cell.source = textwrap.dedent(code).strip() + "\n" + cell.source
    return nb


def defined_names(code: str) -> list:
    """Top-level names an answer cell binds (functions, classes, assignments)."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    names = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                for n in ast.walk(t):
                    if isinstance(n, ast.Name):
                        names.append(n.id)
    return list(dict.fromkeys(names))


CHEAT = '''
class _Everything:
    """Equal to everything, true, callable, indexable, a number when asked."""
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    def __lt__(self, other): return False
    def __gt__(self, other): return False
    def __le__(self, other): return True
    def __ge__(self, other): return True
    def __bool__(self): return True
    def __call__(self, *a, **k): return self
    def __getattr__(self, name): return self
    def __getitem__(self, key): return self
    def __iter__(self): return iter(())
    def __len__(self): return 0
    def __float__(self): return 0.95
    def __int__(self): return 1
    def __index__(self): return 1
    def __sub__(self, other): return 0.0
    __rsub__ = __add__ = __radd__ = __mul__ = __rmul__ = __truediv__ = __sub__
    def __abs__(self): return 0.0
    def __hash__(self): return 0
    def __repr__(self): return "[0.5, 1.0, 0.0]"
'''


def cheat_answers(nbk: Notebook, nb=None):
    """Every answer cell replaced by names bound to an object that claims to equal everything."""
    nb = nb or nbk.student()
    for part in nbk.parts:
        names = defined_names(nbk.answer_source(part.answer)) or ["answer"]
        answer_cell(nb, part.answer).source = CHEAT + "\n".join(f"{n} = _Everything()" for n in names)
    return nb


# what a student might run to fool the tests (each goes into a cell added after the imports)
TAMPER = {
    "patches_numpy_math": """
        import math, numpy as np, numpy.testing
        np.allclose = np.array_equal = np.array_equiv = lambda *a, **k: True
        np.isclose = lambda a, b, *r, **k: np.ones(np.shape(a), bool)
        np.testing.assert_allclose = np.testing.assert_array_equal = lambda *a, **k: None
        np.testing.assert_equal = np.testing.assert_almost_equal = lambda *a, **k: None
        math.isclose = lambda *a, **k: True
        math.isnan = lambda x: False
    """,
    "patches_builtins": """
        import builtins
        builtins.abs = lambda x: 0
        builtins.all = builtins.any = lambda *a: True
        builtins.sorted = lambda x, **k: [270, 270, 1257]
        class _Never(Exception):
            pass
        builtins.AssertionError = _Never
    """,
    "patches_checks": """
        import sys, types, labkit, labkit.checks
        for _n in dir(labkit.checks):
            if _n.startswith(("expect", "_record", "_emit", "judge", "canonical")):
                setattr(labkit.checks, _n, lambda *a, **k: None)
        labkit.checks.CheckFailed = type("CheckFailed", (Exception,), {})
        checks = types.SimpleNamespace(**{n: (lambda *a, **k: None) for n in
                                          ("expect", "expect_equal", "expect_close", "expect_between")},
                                       random_labels=labkit.checks.random_labels)
        sys.modules["labkit.checks"] = checks
        labkit.checks = checks
    """,
    # the visible checks record what the test expects, the others a plausible guess: an answer
    # that is right exactly where the visible tests look, and wrong elsewhere
    "forges_records": """
        import labkit.checks as _c
        def _eq(got=None, expected=None, what="the answer", *a, **k):
            _c._record("equal", what, _c.canonical(expected if expected is not None else 0))
        def _close(got=None, expected=None, what="the answer", rtol=1e-5, atol=1e-8):
            _c._record("close", what, _c.canonical(expected if expected is not None else [0.0]),
                       rtol=float(rtol), atol=float(atol))
        def _between(got=None, low=None, high=None, what="the value"):
            _c._record("between", what, float(low if low is not None else high), low=low, high=high)
        def _true(condition=None, what=""):
            _c._record("true", what, True)
        _c.expect_equal, _c.expect_close, _c.expect_between, _c.expect = _eq, _close, _between, _true
    """,
    "hijacks_ipython": """
        ip = get_ipython()
        ip.input_transformers_cleanup.append(lambda lines: ["pass\\n"])
        ip.set_custom_exc((BaseException,), lambda *a, **k: None)
        ip.showtraceback = lambda *a, **k: None
    """,
}


# Answers that only call the course's own implementation (or, in 06 part 1, the forbidden pinv),
# adapted to the exercise's signature. Without the test cells' `checks.own_work` they pass the visible
# checks (tests/course/test_own_work.py shows it); with it, their parts earn nothing.
LABKIT_TWINS = {
    "02-difficulty": {
        "el2n": """
            from labkit.difficulty import el2n as _el2n
            def el2n(logits, y):
                return _el2n(torch.as_tensor(np.asarray(logits, dtype=np.float64)), torch.as_tensor(np.asarray(y))).numpy()
        """,
        "forgetting": """
            from labkit import difficulty
            def forgetting_counts(correct):
                return difficulty.forgetting_counts(torch.as_tensor(np.asarray(correct)).bool()).numpy().astype(int)
        """},
    "03-contingency": {
        "table": """
            from labkit.contingency import table_from_predictions as contingency_table
        """,
        "ratios": """
            from labkit.contingency import rates
            def ratios(T):
                r = rates(T)
                return {k: float(getattr(r, k)) for k in ("acc_m", "acc_d", "r_plus", "r_minus", "r_pm")}
        """},
    "04-few_labels": {
        "estimate_c": """
            from labkit.pu import c_estimates
            def estimate_c(g, s):
                if not (np.asarray(s) == 1).any():
                    raise ValueError("no labelled positives")
                return c_estimates(np.asarray(g, dtype=float), np.asarray(s))["e1"]
        """,
        "margin_query": """
            from labkit import active
            def margin_query(probs, labelled, b):
                return active.top_b(active.margin(torch.as_tensor(np.asarray(probs, dtype=np.float64))),
                                    np.asarray(labelled, dtype=int), b)
        """},
    "05-calibration": {
        "ece": """
            import labkit.calibration as cal
            ece = lambda probs, y, n_bins=15: cal.ece(np.asarray(probs), np.asarray(y), n_bins=n_bins)
        """,
        "temperature": """
            from labkit.calibration import TemperatureScaling
            def fit_temperature(logits, y):
                return TemperatureScaling().fit(np.asarray(logits), np.asarray(y)).temperature_
        """},
    "06-capacity": {
        "minnorm": """
            from torch.linalg import pinv
            def min_norm_weights(F, Y, rcond=1e-10):
                F, Y = torch.as_tensor(F, dtype=torch.float64), torch.as_tensor(Y, dtype=torch.float64)
                return pinv(F, rtol=rcond) @ Y
        """,
        "ridge": """
            from labkit.capacity import ridge_fit as ridge_weights
            F_train, F_test = torch.relu(X_train @ W[:, :n]), torch.relu(X_test @ W[:, :n])
            ridge_error_at_n = float(((F_test @ ridge_weights(F_train, Y_train, 10.0)).argmax(1) != y_test).double().mean())
        """},
    "07-sparsity": {
        "mask": """
            from labkit.sparsity import threshold_masks
            def magnitude_mask(weights, sparsity):
                masks = threshold_masks({k: torch.as_tensor(v, dtype=torch.float32) for k, v in weights.items()}, sparsity)
                return {k: m.float() for k, m in masks.items()}
        """,
        "ppv": """
            from labkit.randconv import ppv
        """},
}


def uses_labkit(nbk: Notebook):
    """The solution, with every answer that has a labkit twin replaced by the twin; the points it
    must get (those of the other parts), or None when the assignment has no twins."""
    twins = LABKIT_TWINS.get(nbk.assignment, {})
    if not twins:
        return None, None
    nb = nbk.solution()
    for grade_id, code in twins.items():
        answer_cell(nb, grade_id).source = textwrap.dedent(code).strip()
    return nb, sum(p.points for p in nbk.parts if p.answer not in twins)


def tampered(nbk: Notebook, *tampers: str):
    """Cheating answers plus :data:`TAMPER` code in new cells before the first answer."""
    nb = cheat_answers(nbk)
    first_answer = nb.cells.index(answer_cell(nb, nbk.parts[0].answer))
    for tamper in reversed(tampers):
        nb.cells.insert(first_answer, nbformat.v4.new_code_cell(textwrap.dedent(TAMPER[tamper]).strip()))
    return nb


SNOOP_MARK = "SNOOPED.txt"  # what the snooping submission writes wherever it can


def snooping(nbk: Notebook, course_root: Path, listener: tuple | None = None):
    """Blank answers, plus a cell that looks for the instructor's files and the network (and the
    ``listener``, (host, port) of a service the test runs on the host's loopback), runs any solution
    it finds, and prints FOUND for each success (the sandbox must leave it nothing)."""
    targets = [("1.1.1.1", 80), ("127.0.0.1", 22), ("127.0.0.1", 8888), *([tuple(listener)] if listener else [])]
    code = f'''
import os, glob, json, socket
FOUND = []
roots = [{str(course_root)!r}, {str(REPO)!r}, os.path.abspath(os.path.join(os.getcwd(), "..", "..", "..")),
         os.path.expanduser("~"), "/root", "/home", "/srv", "/tmp", "/work", "/"]
patterns = ["source/*/*.ipynb", "course/source/*/*.ipynb", "submitted/*/*/*.ipynb", "autograded/*/*/*.ipynb",
            "release/*/*.ipynb", "gradebook.db", "course/gradebook.db", "*/gradebook.db", "*/*/gradebook.db",
            # the other grading processes' folders (python -m grader autograde)
            ".autograde-*/*/result.json", ".autograde-*/*/course/gradebook.db", ".autograde-*/template.db",
            "shards/*/*/*/result.json"]
for root in roots:
    deep = root in roots[:1] + roots[2:3] + ["/home", "/srv"]  # small trees: search them entirely
    for pattern in patterns + (["**/*.ipynb", "**/gradebook.db"] if deep else []):
        for path in glob.glob(os.path.join(root, pattern), recursive=True)[:200]:
            try:
                text = open(path, "rb").read()
            except OSError:
                continue
            if not (b"BEGIN SOLUTION" in text or b"BEGIN HIDDEN" in text or "gradebook" in path
                    or "submitted" in path or "autograded" in path or path.endswith((".json", ".db"))):
                continue
            FOUND.append(path)
            if path.endswith(".ipynb") and b"BEGIN SOLUTION" in text:
                for cell in json.loads(text)["cells"]:
                    src = "".join(cell["source"])
                    if cell["cell_type"] == "code" and "BEGIN SOLUTION" in src:
                        try:
                            exec(src, globals())
                        except Exception:
                            pass
# the other students' notebooks, feedback and grades, and the files of the grading processes beside
# this one: open each for writing (its content left alone) and leave a mark beside it
own = os.getcwd()
for root in roots[:2]:
    for pattern in ("submitted/*/*/*.ipynb", "autograded/*/*/*.ipynb", "feedback/*/*/*.html", "gradebook.db",
                    ".autograde-*/*/*/*/*.ipynb", ".autograde-*/*/result.json", ".autograde-*/*/course/gradebook.db"):
        for path in glob.glob(os.path.join(root, pattern))[:50]:
            if os.path.dirname(path) == own:
                continue
            try:
                open(path, "r+b").close()
                with open(os.path.join(os.path.dirname(path), {SNOOP_MARK!r}), "w") as fh:
                    fh.write("changed by another student")
                FOUND.append("could change " + path)
            except OSError:
                pass
for target in {targets!r}:
    try:
        socket.create_connection(target, timeout=2).close()
        FOUND.append("network %s:%d" % target)
    except OSError:
        pass
for path in ("/etc/shadow", "/root/.ssh/id_rsa", "/root/.bash_history", "/home"):
    try:
        os.listdir(path) if os.path.isdir(path) else open(path, "rb").read(10)
        FOUND.append(path)
    except OSError:
        pass
for pid in [p for p in os.listdir("/proc") if p.isdigit()]:  # the grader's own processes
    try:
        args = open("/proc/%s/cmdline" % pid, "rb").read().split(b"\\0")[:3]
        if any(os.path.basename(a) in (b"nbgrader", b"pytest", b"jupyter-lab") for a in args):
            FOUND.append("process " + pid)
    except OSError:
        pass
for line in sorted(set(FOUND)):
    print("FOUND", line)
print("snooping done:", len(set(FOUND)), "found")
'''
    nb = nbk.student()
    first_answer = nb.cells.index(answer_cell(nb, nbk.parts[0].answer))
    nb.cells.insert(first_answer, nbformat.v4.new_code_cell(code.strip()))
    return nb


OUTLIVE_MARK = "31337"

# misbehaving code that leaves the kernel alive; each goes into its own cell
CHAOS = {
    "raises": "raise RuntimeError('not today')",
    "sys_exit": "import sys\nsys.exit(0)",
    "eats_memory": "import numpy\nhog = numpy.zeros(2**30)  # 8 GiB; the sandbox allows 6",
    "floods_output": "print('x' * 30_000_000)\nfor i in range(200_000):\n    print(i)",
    "outlives": (f"import subprocess\nsubprocess.Popen(['sleep', '{OUTLIVE_MARK}'], start_new_session=True)\n"
                 f"subprocess.Popen(['sh', '-c', 'nohup sleep {OUTLIVE_MARK} >/dev/null 2>&1 &'])"),
    "infinite_loop": "while True:\n    pass",
    # the limits, made to fire at the values nbgrader_config.py sets (each stops short of harming
    # the machine should its limit be missing: 8 GiB, 2,000 processes, 1 GiB of files)
    "touches_memory": (
        "def touch(chunks):\n"
        "    try:\n"
        "        while len(chunks) < 32:  # 8 GiB, every page written\n"
        "            chunks.append(b'\\x01' * (256 << 20))\n"
        "    except MemoryError:\n"
        "        print('memory error')\n"
        "    return len(chunks) / 4\n"
        "print('touched', touch([]), 'GiB')"),
    "fork_bomb": (
        "import os, time\n"
        "forks = 0\n"
        "try:\n"
        "    while forks < 2000:\n"
        "        if os.fork() == 0:\n"
        "            time.sleep(1)\n"
        "            os._exit(0)\n"
        "        forks += 1\n"
        "except OSError:\n"
        "    print('fork refused')\n"
        "print('forked', forks)\n"
        "for _ in range(forks):\n"
        "    os.wait()"),
    "fills_disk": (
        "import os\n"
        "def fill(folder, written=0):\n"
        "    try:\n"
        "        while written < 1024:\n"
        "            with open(os.path.join(folder, f'fill-{written}'), 'wb') as fh:\n"
        "                fh.write(b'\\x01' * (32 << 20))\n"
        "            written += 32\n"
        "    except OSError:\n"
        "        print('disk full in', folder)\n"
        "    return written\n"
        "print('filled /tmp', fill('/tmp'), 'MiB')\n"
        "print('filled work', fill('.'), 'MiB')"),
    # IPython's exit() lets the cell finish, then shuts the kernel down a moment later (when
    # exactly is a race), so it only goes where the grade does not depend on that moment
    "exit": "exit()",
}


LIMITS = ("touches_memory", "fork_bomb", "fills_disk")  # in one case only: two at once would touch 12 GiB


def chaos(nb, nbk: Notebook, which=CHAOS):
    """``nb`` with one new cell per misbehaviour in ``which``, placed before the first answer."""
    at = nb.cells.index(answer_cell(nb, nbk.parts[0].answer))
    for name in reversed(list(which)):
        nb.cells.insert(at, nbformat.v4.new_code_cell(f"# misbehaving: {name}\n" + CHAOS[name]))
    return nb


def rewrites_tests(nbk: Notebook):
    """Blank answers; every test cell replaced by a print and followed by a copy claiming 100 points;
    an answer cell that claims to be worth 50 points; a cell with corrupt nbgrader metadata."""
    nb = nbk.student()
    first = nbk.parts[0]
    for c in list(_cells(nb, _is_test)):
        c.source = "print('all good')"
        fake = copy.deepcopy(c)
        fake.source = "pass"
        fake.metadata.nbgrader["points"] = 100
        fake["id"] = c["id"] + "-copy"
        nb.cells.insert(nb.cells.index(c) + 1, fake)
    answer = copy.deepcopy(answer_cell(nb, first.answer))
    answer.metadata.nbgrader.update(grade=True, points=50, grade_id="bonus_points")
    answer["id"] = "bonus-points"
    nb.cells.append(answer)
    weird = nbformat.v4.new_code_cell("pass")
    weird.metadata["nbgrader"] = {"grade": True, "grade_id": first.tests[0], "points": "lots", "schema_version": 99}
    nb.cells.append(weird)
    return nb


def removes_tests(nbk: Notebook):
    """Blank answers; test cells alternately deleted, or emptied with their nbgrader metadata removed;
    the written answers' cells deleted too."""
    nb = nbk.student()
    keep = []
    tests_seen = 0
    for c in nb.cells:
        meta = nbgrader_meta(c)
        if _is_test(meta, c):
            tests_seen += 1
            if tests_seen % 2 == 1:
                continue  # deleted
            c.source = "pass"
            del c.metadata["nbgrader"]
        elif meta.get("solution") and meta.get("grade"):
            continue  # a written answer deleted
        keep.append(c)
    nb.cells = keep
    return nb


@dataclass
class Case:
    name: str
    content: object  # a notebook, or bytes to write as the file
    points: float  # the autograded points it must get
    every: bool = False  # tried on every assignment (else on the first one, or all with the full switch)
    note: str = ""




def catalogue(nbk: Notebook, course_root: Path = COURSE, listener: tuple | None = None) -> list:
    """Every submission the pipeline is tested with, for one notebook, with the points each must get
    (``listener``: a service on the host's loopback that the snooping submission tries to reach)."""
    parts, full = nbk.parts, nbk.autograded_points
    last = parts[-1]
    even = {i for i in range(len(parts)) if i % 2 == 0}
    odd = {i for i in range(len(parts)) if i % 2 == 1}
    pts = lambda idx: sum(parts[i].points for i in idx)  # noqa: E731
    return [
        Case("solution", nbk.solution(), full, True, "the reference answers"),
        Case("blank", nbk.student(), 0.0, note="the exercise as released (elsewhere every part is blank in "
                                                "some `alone` case)"),
        *[Case(f"alone{i + 1}", alone(nbk, i), p.points, True,
               f"only part {i + 1} answered, warning on every call (numpy, warnings, stderr); the others blank")
          for i, p in enumerate(parts)],
        Case("partial_even", with_parts(nbk, even), pts(even), note="parts 1, 3, ... right, the others blank"),
        Case("forges_records", tampered(nbk, "forges_records"), 0.0, True,
             "right exactly where the visible tests look: the checks record the visible expected values "
             "and a guess for the hidden ones (what hard-coding the visible answers amounts to)"),
        Case("equals_everything", cheat_answers(nbk), 0.0, note="every answer an object equal to everything"),
        Case("partial_odd", with_parts(nbk, odd), pts(odd), note="parts 2, 4, ... right, the others blank"),
        Case("rewrites_tests", rewrites_tests(nbk), 0.0, note=rewrites_tests.__doc__),
        Case("removes_tests", removes_tests(nbk), 0.0, note=removes_tests.__doc__),
        Case("monkeypatches", tampered(nbk, "patches_numpy_math", "patches_builtins", "patches_checks"), 0.0,
             note="answers equal to everything, numpy/math comparisons, builtins and labkit.checks replaced"),
        Case("hijacks_ipython", tampered(nbk, "hijacks_ipython"), 0.0,
             note="answers equal to everything; later cells rewritten to `pass`, errors and tracebacks swallowed"),
        Case("snoops", snooping(nbk, course_root, listener), 0.0,
             note="reads instructor files, runs any solution found, tries the network"),
        Case("chaos_blank", chaos(nbk.student(), nbk, [k for k in CHAOS if k not in LIMITS + ("infinite_loop",)]),
             0.0, note="blank answers after cells that raise, call sys.exit(), allocate 8 GiB, print 30 MB and "
                       "200,000 lines, start processes meant to outlive grading, and call exit()"),
        Case("chaos_solution", chaos(nbk.solution(), nbk, [k for k in CHAOS if k != "exit"]), full,
             note="the same cells (but exit()), an infinite loop, and cells that run into the memory, process "
                  "and disk limits, then correct answers: grading goes on and gives full marks"),
        Case("exits_process", prepend(nbk.solution(), last.answer, "import os\nos._exit(3)"), full - last.points,
             note="the last answer kills the kernel with os._exit; earlier parts keep their points"),
        Case("swallows_interrupt", prepend(nbk.solution(), last.answer, """
            import time
            while True:
                try:
                    time.sleep(0.1)
                except KeyboardInterrupt:
                    pass
            """), full - last.points, note="the last answer loops and ignores interrupts; the kernel is "
                                             "stopped, earlier parts keep their points"),
        Case("warns_wrong", warns_wrong(nbk), 0.0, note="wrong answers (None) that warn on every call"),
        Case("invalid_json", b'{"cells": [ this is not json', 0.0, note="a file that is not JSON"),
    ] + _twin_case(nbk)


def _twin_case(nbk: Notebook) -> list:
    nb, points = uses_labkit(nbk)
    if nb is None:
        return []
    return [Case("uses_labkit", nb, points, True, "the answers that labkit has are labkit's own, imported: those "
                 "parts earn nothing (checks.own_work), the others their points")]


