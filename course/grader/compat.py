"""The private parts of nbclient and jupyter_client the grader builds on, checked when it starts.

``execute.GuardedExecute`` and ``sandbox.SandboxKernelManager`` override or call methods that are
not part of those libraries' public API. An upgrade that renames one would silently bypass the
sandbox or the interrupt handling, so importing the grader checks that each is still there, with
the parameters the grader passes, and fails with a message naming what changed.
"""
from __future__ import annotations

import inspect

# (module, class, attribute, parameters the grader relies on)
REQUIRED = [
    ("jupyter_client.manager", "AsyncKernelManager", "_async_pre_start_kernel", ("kw",)),
    ("jupyter_client.manager", "AsyncKernelManager", "format_kernel_cmd", ("extra_arguments",)),
    ("jupyter_client.manager", "AsyncKernelManager", "_async_interrupt_kernel", ()),
    ("jupyter_client.manager", "AsyncKernelManager", "_async_cleanup_resources", ("restart",)),
    ("jupyter_client.manager", "AsyncKernelManager", "_connect_control_socket", ()),
    ("jupyter_client.manager", "AsyncKernelManager", "has_kernel", None),
    ("nbclient.client", "NotebookClient", "async_execute_cell",
     ("cell", "cell_index", "execution_count", "store_history")),
    ("nbclient.client", "NotebookClient", "output", ("outs", "msg", "display_id", "cell_index")),
    ("nbclient.client", "NotebookClient", "timeout_func", None),
    ("nbclient.client", "NotebookClient", "raise_on_iopub_timeout", None),
]


class GraderIncompatible(RuntimeError):
    pass


def problems(required=REQUIRED) -> list:
    """What is missing or changed, one line each (empty when everything the grader uses is there)."""
    import importlib

    out = []
    for module, cls, attr, params in required:
        try:
            owner = getattr(importlib.import_module(module), cls)
        except (ImportError, AttributeError) as err:
            out.append(f"{module}.{cls} cannot be imported ({err})")
            continue
        if not hasattr(owner, attr):
            out.append(f"{module}.{cls}.{attr} no longer exists")
            continue
        if params:
            sig = inspect.signature(getattr(owner, attr))
            kinds = {p.kind for p in sig.parameters.values()}
            missing = [p for p in params if p not in sig.parameters and
                       not (p == "kw" and inspect.Parameter.VAR_KEYWORD in kinds)]
            if missing:
                out.append(f"{module}.{cls}.{attr} no longer takes {', '.join(missing)} (now {sig})")
    return out


def check(required=REQUIRED) -> None:
    """Raise :class:`GraderIncompatible` naming every changed private method."""
    found = problems(required)
    if found:
        raise GraderIncompatible(
            "The course's grader overrides private parts of nbclient / jupyter_client that changed in the "
            "installed versions, so the sandbox or the interrupt handling could be bypassed:\n  - "
            + "\n  - ".join(found)
            + "\nInstall the versions in requirements/constraints.txt (pip install -c requirements/constraints.txt "
              "-e '.[course]') or adapt course/grader/execute.py and sandbox.py.")
