"""nbgrader configuration of the course. Run every nbgrader command from this folder (course/).

What grading safely needs, and why each line is here, is in course/README.md ("How grading is kept
honest"). Instructors normally change only the first block.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:  # the grader package next to this file
    sys.path.insert(0, HERE)

c = get_config()  # noqa: F821 (provided by nbgrader)

# --- the course --------------------------------------------------------------------------------
c.CourseDirectory.course_id = "dl-phenomena"
c.CourseDirectory.root = HERE
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(HERE, "gradebook.db")

# --- collecting submissions (nbgrader zip_collect) -----------------------------------------------
# Files in downloaded/<assignment>/archive/: loose notebooks named <student_id>_<notebook>.ipynb or
# <student_id>/<notebook>.ipynb, or zip files holding them (an LMS download, or <student_id>.zip).
# Student ids contain no "_" or "/". For another naming scheme change the expression
# (course/README.md shows one for Moodle's downloads).
c.FileNameCollectorPlugin.named_regexp = (
    r".*/extracted/(?:.*/)?(?P<student_id>[^/_]+)[_/](?P<file_id>[^/_][^/]*\.ipynb)$")

# --- deadlines ---------------------------------------------------------------------------------
# Due dates, late penalties and extensions are set in deadlines.toml (grader/deadlines.py);
# python -m grader autograde and lms import write the due dates into the gradebook.
c.AssignLatePenalties.plugin_class = "grader.deadlines.PerDayPenalty"
c.PerDayPenalty.deadlines = os.path.join(HERE, "deadlines.toml")

# --- exercises ---------------------------------------------------------------------------------
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
c.ClearSolutions.enforce_metadata = True

# --- execution while grading ---------------------------------------------------------------------
# A cell may run this long (training cells at the smoke scale take seconds); longer is interrupted.
c.Execute.timeout = 60
c.Execute.startup_timeout = 120
c.Execute.interrupt_on_timeout = True
# The notebooks run at the smoke scale when nbgrader executes them (labkit reads NBGRADER_EXECUTION).

c.GuardedExecute.timeout = 60
c.GuardedExecute.notebook_timeout = 600  # the whole notebook
c.GuardedExecute.max_output_chars = 200_000  # per cell; the rest of a flood is dropped
# Kernels run in a bubblewrap sandbox (grader/sandbox.py): no course files, no network, limits.
c.SandboxKernelManager.memory_limit = 6 * 2**30  # bytes of address space
c.SandboxKernelManager.cpu_limit = 900  # CPU seconds per notebook
c.SandboxKernelManager.process_limit = 512  # processes and threads at once (a pids cgroup, where one can be made)
c.SandboxKernelManager.tmp_size = 512 * 2**20  # bytes of /tmp
c.SandboxKernelManager.work_size = 256 * 2**20  # bytes of the working folder's copy

# --- sanitising submissions --------------------------------------------------------------------
# A file that is not a notebook is kept aside and graded as an empty notebook.
c.Autograde.pre_convert_hook = "grader.verify.replace_unreadable"
# Test cells that a student deleted are put back; edited ones are overwritten from the gradebook;
# nbgrader metadata comes from the gradebook, not from the submission.
c.OverwriteCells.add_missing_cells = True
c.Autograde.sanitize_preprocessors = [
    "grader.verify.NormalizeSubmission",
    "nbgrader.preprocessors.ClearOutput",
    "nbgrader.preprocessors.DeduplicateIds",
    "nbgrader.preprocessors.OverwriteKernelspec",
    "nbgrader.preprocessors.OverwriteCells",
    "nbgrader.preprocessors.CheckCellMetadata",
]
# --- grading -----------------------------------------------------------------------------------
# Execute in the sandbox, then score each test cell from its check records compared with the
# reference solution's (run once per assignment, cached in .grading-cache/).
c.Autograde.autograde_preprocessors = [
    "grader.execute.GuardedExecute",
    "grader.verify.VerifyChecks",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    # each written answer's rubric right after it (rubrics/<assignment>.md), for the formgrader and
    # the feedback
    "grader.rubrics.AddRubrics",
    # after the grades are saved (so it cannot change them): the autograded copy keeps nothing
    # that could run script where it is later shown (grader/sanitize.py)
    "grader.sanitize.SanitizeNotebook",
    "nbgrader.preprocessors.CheckCellMetadata",
]
c.VerifyChecks.source_directory = os.path.join(HERE, "source")
c.VerifyChecks.cache_directory = os.path.join(HERE, ".grading-cache")
c.AddRubrics.rubric_directory = os.path.join(HERE, "rubrics")
c.LimitOutput.max_lines = 200
c.LimitOutput.max_traceback = 60

# --- showing graded notebooks ------------------------------------------------------------------
# The formgrader (when JupyterLab is started from this folder) and generate_feedback render with
# nbconvert's HTMLExporter, which passes a notebook's HTML and script through, and whose formgrader
# and feedback templates render markdown without sanitising it. Every page made from a submission
# is sanitised again here, whatever the notebook holds (grader/sanitize.py, course/README.md).
c.HTMLExporter.preprocessors = ["grader.sanitize.SanitizeNotebook"]
c.HTMLExporter.filters = {"markdown2html": "grader.sanitize.markdown2html",
                          "clean_html": "grader.sanitize.clean_html"}
c.HTMLExporter.sanitize_html = True  # the templates drop JavaScript and widget outputs, clean HTML
c.HTMLExporter.skip_svg_encoding = False  # SVG only as <img> data URLs (scripts in them never run)
# The feedback pages (which students open, wherever they keep them) also carry a
# Content-Security-Policy that allows no script at all (grader/sanitize.py, FeedbackExporter). The
# formgrader's pages get none: they run nbgrader's own scripts, inline ones among them.
c.GenerateFeedback.exporter_class = "grader.sanitize.FeedbackExporter"
