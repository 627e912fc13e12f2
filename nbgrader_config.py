"""nbgrader configuration of the lstmlab course (see README, "For instructors")."""

import os

from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, ClearHiddenTests,
                                    GetGrades, IgnorePattern, LimitOutput)
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor

from lstmlab.grading.preprocessors import SafeExecute, SaveVerdicts
from lstmlab.grading.sandbox import KERNEL_NAME

c = get_config()  # noqa: F821  (provided by nbgrader)

c.CourseDirectory.course_id = "lstmlab"
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"
# SQLite by default (graders in parallel wait up to a minute for its lock); a server such as
# PostgreSQL, e.g. LSTMLAB_GRADEBOOK=postgresql+psycopg://user@host/db, for graders on several machines.
c.CourseDirectory.db_url = os.environ.get(
    "LSTMLAB_GRADEBOOK", f"sqlite:///{os.path.join(c.CourseDirectory.root, 'gradebook.db')}?timeout=60")
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback"]

# Submissions run in a kernel that can read neither the repository nor lstmlab (Landlock), with a
# time limit per cell; the score comes from the records in the test cells' outputs, compared outside
# the kernel with references the kernel cannot see.
c.Execute.kernel_name = KERNEL_NAME
c.Execute.timeout = int(os.environ.get("LSTMLAB_CELL_TIMEOUT", 60))  # seconds per cell
c.Autograde.autograde_preprocessors = [SafeExecute, IgnorePattern, ClearMetadataPreprocessor,
                                       LimitOutput, SaveVerdicts, AssignLatePenalties,
                                       CheckCellMetadata]
# Hidden tests stay hidden in the feedback.
c.GenerateFeedback.preprocessors = [GetGrades, ClearHiddenTests, CSSHTMLHeaderPreprocessor]
