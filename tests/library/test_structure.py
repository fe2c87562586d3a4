"""The library's shape (labkit/__init__.py): shared layers that never import a lecture package,
one package per lecture with its notebook, assignment and tests, small files, ``__all__``
everywhere, and the lint rules of pyproject.toml."""
import ast
import dataclasses
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import labkit as lk

ROOT = Path(__file__).resolve().parents[2]
LABKIT = ROOT / "labkit"
# the lecture packages are the ones labkit.LECTURES names; everything else in labkit/ is a shared layer
PACKAGES = sorted(p.name for p in LABKIT.iterdir() if (p / "__init__.py").is_file())
SHARED = sorted({*(p.name for p in LABKIT.glob("*.py") if p.name != "__init__.py"),
                 *(name for name in PACKAGES if name not in lk.LECTURES)})
MAX_LINES = 300


def modules(paths):
    for p in paths:
        path = LABKIT / p
        yield from ([path] if path.is_file() else sorted(path.rglob("*.py")))


def imported(path: Path, text: str | None = None) -> set:
    """Every labkit module ``path`` imports, as a dotted name below labkit ("difficulty.scores")."""
    package = path.relative_to(LABKIT).with_suffix("").parts[:-1]
    if path.name == "__init__.py":
        package = path.relative_to(LABKIT).parts[:-1]
    out = set()
    for node in ast.walk(ast.parse(path.read_text() if text is None else text)):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(package[:len(package) - node.level + 1])
                target = base + (node.module.split(".") if node.module else [])
                out.add(".".join(target))
                out.update(".".join(target + [a.name]) for a in node.names)
            elif node.module and node.module.startswith("labkit"):
                out.add(node.module.removeprefix("labkit").lstrip("."))
        elif isinstance(node, ast.Import):
            out.update(a.name.removeprefix("labkit").lstrip(".") for a in node.names if a.name.startswith("labkit"))
    return out


def lecture_imports(path: Path, own: str | None = None, text: str | None = None) -> set:
    """The lecture packages other than ``own`` that ``path`` imports."""
    return {n.split(".")[0] for n in imported(path, text)} & set(lk.LECTURES) - {own}


def test_the_import_rule_holds_and_can_be_checked():
    assert set(lk.LECTURES) <= set(PACKAGES), "every package labkit.LECTURES names is a folder of labkit/"
    assert {"runtime.py", "data", "training", "viz"} <= set(SHARED)
    bad = [f"{path.relative_to(ROOT)} imports labkit.{name}"
           for path in modules(SHARED) for name in lecture_imports(path)]
    assert not bad, "shared layers must not import lecture packages:\n" + "\n".join(bad)
    bad = [f"{path.relative_to(ROOT)} imports labkit.{name}"
           for key in lk.LECTURES for path in modules([key]) for name in lecture_imports(path, key)]
    assert not bad, "a lecture package must not import another lecture's package:\n" + "\n".join(bad)
    assert lecture_imports(LABKIT / "pu" / "fake.py", "pu", "from ..semisup import x") == {"semisup"}
    assert lecture_imports(LABKIT / "pu" / "fake.py", "pu", "from .scores import x") == set()
    # the checker sees a violation in each way it can be written
    fake = LABKIT / "training" / "fake.py"
    for text in ("from ..difficulty import el2n", "from ..shortcuts.widget import shortcut_view",
                 "import labkit.contingency", "from labkit.difficulty.scores import margin", "from .. import shortcuts"):
        assert {n.split(".")[0] for n in imported(fake, text)} & set(lk.LECTURES), text
    assert not {n.split(".")[0] for n in imported(fake, "from ..data import Data")} & set(lk.LECTURES)


def lecture_topic(key: str) -> str:
    """The name of the notebook, assignment and lecture test of ``key``'s lecture: the key itself
    when the lecture has one package, else the one notebook ``lectures/Ln_<topic>.ipynb`` its
    packages share (L4: active, semisup and pu in L4_few_labels)."""
    number = lk.LECTURES[key]
    if [k for k, v in lk.LECTURES.items() if v == number] == [key]:
        return key
    shared = sorted((ROOT / "lectures").glob(f"{number}_*.ipynb"))
    assert len(shared) == 1, f"{number} has several packages and needs exactly one notebook {number}_<topic>.ipynb"
    return shared[0].stem.split("_", 1)[1]


@pytest.mark.parametrize("key", sorted(lk.LECTURES))
def test_every_lecture_has_its_package_notebook_assignment_and_tests(key):
    number = lk.LECTURES[key][1:]
    topic = lecture_topic(key)
    assert (LABKIT / key / "__init__.py").exists(), f"labkit/{key}/ is missing"
    assert getattr(lk, key).__name__ == f"labkit.{key}", f"lk.{key} is not reachable"
    assert (ROOT / "lectures" / f"L{number}_{topic}.ipynb").exists(), f"lectures/L{number}_{topic}.ipynb is missing"
    assert (ROOT / "course" / "source" / f"{int(number):02d}-{topic}").is_dir(), f"course/source/{int(number):02d}-{topic}/"
    assert (ROOT / "tests" / "library" / f"test_{key}.py").exists()
    assert (ROOT / "tests" / "lectures" / f"test_lecture_{topic}.py").exists()
    lectures = sorted(p.stem.split("_", 1)[1] for p in (ROOT / "lectures").glob("L*_*.ipynb"))
    assert lectures == sorted({lecture_topic(k) for k in lk.LECTURES}), "every notebook in lectures/ is listed in labkit.LECTURES"


def test_files_are_small_or_say_why():
    long = []
    for path in LABKIT.rglob("*.py"):
        text = path.read_text()
        if text.count("\n") > MAX_LINES and "longer than 300 lines because" not in text[:2000].lower():
            long.append(f"{path.relative_to(ROOT)}: {text.count(chr(10))} lines")
    assert not long, long


def test_every_package_declares_its_public_names():
    for init in LABKIT.rglob("__init__.py"):
        tree = ast.parse(init.read_text())
        names = {t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)}
        assert "__all__" in names, f"{init.relative_to(ROOT)} has no __all__"
        package = ".".join(("labkit",) + init.relative_to(LABKIT).parts[:-1]).rstrip(".")
        module = __import__(package, fromlist=["__all__"])
        missing = [n for n in module.__all__ if not hasattr(module, n)]
        assert not missing, f"{package}.__all__ names what it does not define: {missing}"


def test_lint_and_format_rules_pass():
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed: pip install -e '.[dev]'")
    paths = ["labkit", "tests", "benchmarks", "course/grader", "book", "tools"]
    check = subprocess.run([ruff, "check", *paths], cwd=ROOT, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout[-3000:]
    linted = subprocess.run([ruff, "check", "--show-files", *paths], cwd=ROOT, capture_output=True, text=True).stdout
    for folder in ("tests/lectures/", "tests/course/", "labkit/capacity/"):  # the excludes match from the root only
        assert f"{ROOT}/{folder}" in linted, f"ruff leaves out {folder}: check extend-exclude in pyproject.toml"


# ---------------------------------------------------------------------------------------------
# one public convention for the lecture packages (written in lectures/README.md)

def _public(tree, kind):
    return {n.name: n for n in tree.body if isinstance(n, kind) and not n.name.startswith("_")}


def _returned_names(fn) -> set:
    """What a function's return statements give back, as source text (nested functions left out)."""
    inner = {id(r) for f in ast.walk(fn) if f is not fn and isinstance(f, (ast.FunctionDef, ast.Lambda))
             for r in ast.walk(f)}
    return {ast.unparse(r.value) if r.value else "None" for r in ast.walk(fn)
            if isinstance(r, ast.Return) and id(r) not in inner}


NOT_EXPERIMENTS = ("plot_", "render_", "show_")
BARE = {"dict", "list", "tuple"}
RANDOM = {"seed", "seeds", "random_state"}


def _result_classes(trees) -> set:
    """The package's classes that are results: they derive from Result or Rows, or from one of them."""
    bases = {c.name: {ast.unparse(b).split(".")[-1] for b in c.bases}
             for tree in trees for c in _public(tree, ast.ClassDef).values()}
    results, grew = {"Result", "Rows"}, True
    while grew:
        new = {name for name, base in bases.items() if base & results} - results
        results, grew = results | new, bool(new)
    return results


def result_problems(key: str, files: dict) -> list:
    """Experiments (functions that take a seed) return a Result; no public function returns a bare
    dict, list or tuple, or leaves its return unannotated; a class with table() is a Result."""
    trees = {name: ast.parse(text) for name, text in files.items()}
    results, problems = _result_classes(trees.values()), []
    for name, tree in trees.items():
        for fn in _public(tree, ast.FunctionDef).values():
            if fn.name.startswith(NOT_EXPERIMENTS) or fn.name.endswith(("_view", "_widget")):
                continue
            returns = ast.unparse(fn.returns) if fn.returns else ""
            params = {a.arg for a in fn.args.args + fn.args.kwonlyargs}
            if returns in {"", *BARE}:
                problems.append(f"{key}/{name}: {fn.name} returns {returns or 'an unannotated value'}: "
                                "annotate what it holds (dict[str, float], tuple[Data, Data]) or return a Result")
            elif params & RANDOM and (returns.split("[")[0] in BARE | {"pd.DataFrame", "DataFrame"}
                                      or (returns[:1].isupper() and returns not in results
                                          and returns in {c for t in trees.values() for c in _public(t, ast.ClassDef)})):
                problems.append(f"{key}/{name}: {fn.name} is an experiment (it takes a seed) and returns "
                                f"{returns}: return a Result (labkit/results.py) whose table() is the DataFrame")
        for cls in _public(tree, ast.ClassDef).values():
            has_table = any(isinstance(n, ast.FunctionDef) and n.name == "table" for n in cls.body)
            if cls.name in results and not has_table and not {ast.unparse(b) for b in cls.bases} & {"Rows"}:
                problems.append(f"{key}/{name}: {cls.name} is a Result and must define table() -> pd.DataFrame")
            if has_table and cls.name not in results:
                problems.append(f"{key}/{name}: {cls.name} has table() but is not a Result: derive it from Result")
            if any(isinstance(n, ast.AnnAssign) and ast.unparse(n.target) == "table" for n in cls.body):
                problems.append(f"{key}/{name}: {cls.name} has a field named table; table() is the method "
                                "every result has")
    return problems


def convention_problems(key: str, files: dict) -> list:
    """How the package ``key`` with these files (name -> source) breaks the convention."""
    problems = []
    for node in ast.parse(files.get("__init__.py", "")).body:
        if isinstance(node, ast.ImportFrom) and node.level != 1:
            problems.append(f"{key}/__init__.py re-exports {'.' * node.level}{node.module}: import shared "
                            "names from their own layer (lk.data, lk.probes, lk.training) instead")
    for name, text in files.items():
        tree = ast.parse(text)
        for fn in _public(tree, ast.FunctionDef).values():
            if not fn.name.startswith("plot_"):
                continue
            args = fn.args.args + fn.args.kwonlyargs
            defaults = dict(zip([a.arg for a in fn.args.args][::-1], fn.args.defaults[::-1]))
            defaults.update({a.arg: d for a, d in zip(fn.args.kwonlyargs, fn.args.kw_defaults)})
            if "ax" not in [a.arg for a in args] or ast.unparse(defaults.get("ax", ast.Constant(0))) != "None":
                problems.append(f"{key}/{name}: {fn.name} needs a parameter ax=None")
            if not _returned_names(fn) <= {"ax", "axes"}:
                problems.append(f"{key}/{name}: {fn.name} must return the axis it drew on (ax), "
                                f"not {sorted(_returned_names(fn))}")
    problems += result_problems(key, files)
    if "widget.py" in files:
        tree = ast.parse(files["widget.py"])
        functions, classes = _public(tree, ast.FunctionDef), _public(tree, ast.ClassDef)
        widgets = [n for n in functions if n.endswith("_widget")]
        if not widgets:
            problems.append(f"{key}/widget.py defines no <name>_widget")
        for widget in widgets:
            name = widget.removesuffix("_widget")
            view_class = "".join(part.title() for part in name.split("_")) + "View"
            view = functions.get(f"{name}_view")
            if view is None or (ast.unparse(view.returns) if view.returns else "") != view_class:
                problems.append(f"{key}/widget.py: {widget} needs {name}_view(...) -> {view_class}")
            cls = classes.get(view_class)
            if cls is None or "dataclass" not in [ast.unparse(d) for d in cls.decorator_list]:
                problems.append(f"{key}/widget.py: {view_class} must be a dataclass")
            if f"render_{name}" not in functions:
                problems.append(f"{key}/widget.py: {widget} needs render_{name}(..., view, ...) -> Figure")
    return problems


def test_lecture_packages_follow_one_convention():
    problems, with_widget = [], set()
    for key in lk.LECTURES:
        files = {p.name: p.read_text() for p in (LABKIT / key).glob("*.py")}
        problems += convention_problems(key, files)
        if "widget.py" in files:
            with_widget.add(lk.LECTURES[key])
    assert not problems, "\n".join(problems)
    assert with_widget == set(lk.LECTURES.values()), "every lecture has a widget"


def test_every_result_gives_a_table():
    from labkit.results import Result
    found = [cls for key in lk.LECTURES for cls in vars(getattr(lk, key)).values()
             if isinstance(cls, type) and issubclass(cls, Result)]
    assert len({c.__module__.split(".")[1] for c in found}) == len(lk.LECTURES), "every lecture package has results"
    assert not [c.__name__ for c in found if c.table is Result.table], "every result defines table()"
    assert not [c.__name__ for c in found if not dataclasses.is_dataclass(c)], "every result is a dataclass"


def test_the_convention_check_sees_each_problem():
    good = {"__init__.py": "from .plots import plot_x\n",
            "plots.py": "def plot_x(r, ax=None):\n    ax = ax or new()\n    return ax\n",
            "widget.py": ("@dataclass\nclass PruningView:\n    a: int\n"
                          "def pruning_view(m) -> PruningView:\n    return PruningView(1)\n"
                          "def render_pruning(view):\n    return fig\n"
                          "def pruning_widget(m):\n    def render(a):\n        return 1, 2\n    return box\n")}
    assert convention_problems("fake", good) == []
    bad = {"__init__.py": "from ..probes import knn_predict\n"}
    assert "re-exports" in convention_problems("fake", {**good, **bad})[0]
    for plots, says in (("def plot_x(r):\n    return ax\n", "ax=None"),
                        ("def plot_x(r, ax=None):\n    return fig\n", "must return the axis")):
        assert says in " ".join(convention_problems("fake", {**good, "plots.py": plots}))
    results = {"curves.py": ("@dataclass\nclass Curve(Rows):\n    pass\n"
                             "@dataclass\nclass Run(Result):\n    a: int\n    def table(self):\n        return f\n"
                             "def curve(model, seed=0) -> Curve:\n    return Curve(r)\n"
                             "def masks(model) -> dict[str, torch.Tensor]:\n    return {}\n")}
    assert convention_problems("fake", {**good, **results}) == []
    for old, new, says in (("-> Curve", "-> list", "returns list"),
                           ("-> dict[str, torch.Tensor]", "", "unannotated"),
                           ("-> Curve", "-> pd.DataFrame", "is an experiment"),
                           ("-> Curve", "-> dict[str, float]", "is an experiment"),
                           ("(Rows)", "", "is an experiment"),
                           ("    def table(self):\n        return f\n", "", "must define table()"),
                           ("(Result)", "", "has table() but is not a Result"),
                           ("    a: int\n", "    table: int\n", "field named table")):
        text = results["curves.py"].replace(old, new)
        assert says in " ".join(convention_problems("fake", {**good, "curves.py": text})), old
    for old, new, says in (("-> PruningView", "-> tuple", "pruning_view(...) -> PruningView"),
                           ("@dataclass\n", "", "must be a dataclass"),
                           ("def render_pruning", "def draw_pruning", "render_pruning"),
                           ("pruning_widget", "pruning_box", "no <name>_widget")):
        text = good["widget.py"].replace(old, new)
        assert says in " ".join(convention_problems("fake", {**good, "widget.py": text})), old
