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
# Students listed here are added by `nbgrader db student import students.csv` as well.

# --- exercises ---------------------------------------------------------------------------------
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
c.ClearSolutions.enforce_metadata = True

# --- execution while grading ---------------------------------------------------------------------
# A cell may run this long (training cells at the smoke scale take seconds); longer is interrupted.
c.Execute.timeout = 60
c.Execute.startup_timeout = 120
c.Execute.interrupt_on_timeout = True
c.Execute.raise_on_iopub_timeout = False
# The notebooks run at the smoke scale when nbgrader executes them (labkit reads NBGRADER_EXECUTION).

# --- sanitising submissions --------------------------------------------------------------------
# Test cells that a student deleted are put back; edited ones are overwritten from the gradebook.
c.OverwriteCells.add_missing_cells = True
c.LimitOutput.max_lines = 200
c.LimitOutput.max_traceback = 60
