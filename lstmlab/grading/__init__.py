"""nbgrader integration: sandboxed grading kernel, verdicts computed outside the kernel, references."""
