"""The one error that stops grading: an instructor's mistake, reported before any student is graded."""


class InstructorError(Exception):
    """Something the instructor must fix (the message says what and with which command); no student is graded."""
