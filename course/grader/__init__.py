"""The course's grading pipeline around nbgrader: sandboxed kernels, honest verdicts, the build.

Modules: ``sandbox`` (bubblewrap kernels), ``execute`` (nbgrader's Execute step made robust),
``verify`` (metadata from the gradebook, verdicts from check records, unreadable files),
``records`` (the reference solution's records), ``build`` (``make course``), ``__main__`` (commands).
"""
