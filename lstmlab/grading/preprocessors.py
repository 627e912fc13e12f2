"""nbgrader preprocessors that take the verdict out of the student's kernel.

`SafeExecute` runs a submission in the sandboxed kernel, handing it only this student's hidden-case
seed, and survives what the submission does to it: a cell past its time limit is interrupted, a
kernel that dies or stops answering ends the run, and the cells that did not run simply record
nothing. `SaveVerdicts` then scores every test cell from the raw records in its outputs, against
references computed here for this student from lstmlab (which the kernel could not read), and
replaces the cell's outputs with the trusted verdict, so the feedback shows what the grader decided
and not what the student's code printed.
"""

import os
from functools import cache

import nbformat
from jupyter_core.utils import run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbgrader import utils
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import Execute, SaveAutoGrades
from traitlets import Bool, Enum

from lstmlab import checking
from lstmlab.grading import references, secret
from lstmlab.grading.errors import InstructorError
from lstmlab.grading.zygote import ForkedKernelManager


@cache
def grading_key():
    return secret.load()


def hidden_base(resources):
    """This submission's hidden-case seed, from the instructor's secret, the assignment and the student id."""
    meta = resources["nbgrader"]
    return secret.student_seed(grading_key(), meta["assignment"], meta["student"])


class SafeExecute(Execute):
    """nbgrader's Execute, but a dead or unresponsive kernel ends the run instead of the batch."""

    # A cell past its time limit ends the run at once (see preprocess_cell): no interrupt to wait on.
    interrupt_on_timeout = Bool(False, help="interrupt a cell past its time limit and go on (lstmlab: no)")
    # After the last cell nothing of the kernel is needed: it is killed, not asked to shut down and
    # waited for (which is as long again for code that ignores the request).
    shutdown_kernel = Enum(["graceful", "immediate"], default_value="immediate").tag(config=True)
    fork_kernels = Bool(True, help="fork each kernel from a zygote that has imported what every kernel "
                                   "needs (lstmlab.grading.zygote), instead of starting a new Python").tag(config=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.fork_kernels:
            self.kernel_manager_class = ForkedKernelManager

    def preprocess(self, nb, resources, km=None):
        resources.setdefault("lstmlab", {})["aborted"] = None
        # The kernel's environment: the grader's, less the secret, plus this student's seed alone.
        self.kernel_env = {k: v for k, v in os.environ.items() if k != secret.ENV}
        self.kernel_env["LSTMLAB_HIDDEN_SEED"] = f"{hidden_base(resources):x}"
        return super().preprocess(nb, resources, km=km)

    async def async_start_new_kernel(self, **kwargs):
        await super().async_start_new_kernel(env=self.kernel_env, **kwargs)

    start_new_kernel = run_sync(async_start_new_kernel)

    def preprocess_cell(self, cell, resources, index):
        aborted = resources["lstmlab"]["aborted"]
        if cell.cell_type != "code" or aborted:
            return cell, resources
        try:
            cell, resources = super().preprocess_cell(cell, resources, index)
        # Only the two ways a kernel stops answering (CellTimeoutError is a TimeoutError, DeadKernelError
        # a RuntimeError): any other exception is a bug of the grader and must end the batch loudly.
        except DeadKernelError as error:
            name, reason = "DeadKernelError", f"the kernel stopped in cell {index + 1} (DeadKernelError: {error})"
        # A cell past its time limit may be code that ignores interrupts: every later cell would only
        # wait out its own limit, so the run ends here and the later cells fail with this reason.
        except CellTimeoutError:
            name, reason = "CellTimeoutError", f"cell {index + 1} ran past the time limit of {self.timeout} s"
        else:
            return cell, resources
        resources["lstmlab"]["aborted"] = reason
        cell.outputs.append(nbformat.v4.new_output("error", ename=name, evalue=reason, traceback=[reason]))
        return cell, resources


def records(cell):
    """{key: [encoded values]} from the record outputs of one executed cell."""
    found = {}
    for output in cell.get("outputs", []):
        record = output.get("data", {}).get(checking.MIME) if output.get("output_type") == "display_data" else None
        if isinstance(record, dict) and isinstance(record.get("key"), str):
            found.setdefault(record["key"], []).append(record.get("value"))
    return found


def verdict(cell, keys, references, mistakes=None, catalogue=None, hidden=()):
    """(passed, lines): whether every case of a test cell matches its reference, with one line per case.

    A wrong output is compared with the outputs of the catalogued mistakes on the same case
    (`mistakes`: {key: {mistake: encoded output}}, `catalogue`: {mistake: message}) to name it.
    A failed hidden case never shows its reference values: they stay with the grader.
    """
    got = records(cell)
    lines = []
    for key in keys:
        reference = references[key]
        values = got.get(key, [])
        if len(values) != 1:
            problem = "no output was recorded" if not values else f"recorded {len(values)} times"
        else:
            problem = checking.compare(reference["value"], values[0], reference["rtol"], reference["atol"], key)
            if problem and key in hidden:
                problem = f"{key}: a hidden case, your output differs from the reference (not shown)"
            diagnosis = problem and checking.diagnose(reference, values[0], (mistakes or {}).get(key, {}),
                                                      catalogue or {})
            if diagnosis:
                problem += f"\n      {diagnosis}"
        lines.append(f"{'PASS' if not problem else 'FAIL'}  {key}" + (f": {problem}" if problem else ""))
    return all(line.startswith("PASS") for line in lines), lines


class Lazy:
    """A mapping computed on its first lookup."""

    def __init__(self, compute):
        self.compute, self.value = compute, None

    def get(self, key, default=None):
        if self.value is None:
            self.value = self.compute()
        return self.value.get(key, default)


class SaveVerdicts(SaveAutoGrades):
    """Score autograded test cells from their records, never from what the kernel reported."""

    def preprocess(self, nb, resources):
        assignment = resources["nbgrader"]["assignment"]
        coursedir = CourseDirectory(config=self.config)
        source = os.path.join(coursedir.root, coursedir.source_directory)
        base = hidden_base(resources)
        self.references = references.for_student(source, assignment, base)
        # The mistakes' outputs are needed only to name a wrong output: computed at the first one.
        self.mistakes = Lazy(lambda: references.mistake_outputs(source, assignment, self.references, base))
        self.catalogue = references.released_catalogue(source, assignment)
        self.aborted = resources.get("lstmlab", {}).get("aborted")
        return super().preprocess(nb, resources)

    def _add_score(self, cell, resources):
        meta = cell.metadata["nbgrader"]
        if meta.get("solution", False):  # a manually graded answer: nbgrader's own handling
            return super()._add_score(cell, resources)
        keys = self.references.cells.get(meta["grade_id"])
        if keys is None:  # the gradebook holds a test cell that the source notebook no longer has
            raise InstructorError(
                f"{self.assignment_id}: the gradebook's test cell {meta['grade_id']!r} is not in the source "
                "notebook; run `make release`, then grade again")
        passed, lines = verdict(cell, keys, self.references.values, self.mistakes, self.catalogue,
                                self.references.hidden)
        points = float(meta["points"])
        summary = f"lstmlab grader: {points if passed else 0:g} of {points:g} points"
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        if errors and not passed:
            lines.append(f"the cell raised {errors[-1].get('ename')}: {errors[-1].get('evalue')}")
        if self.aborted and not passed:
            lines.append(f"grading stopped early: {self.aborted}")
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout",
                                               text="\n".join([summary, *lines]) + "\n")]
        grade = self.gradebook.find_grade(meta["grade_id"], self.notebook_id,
                                          self.assignment_id, self.student_id)
        grade.auto_score = points if passed else 0.0
        grade.needs_manual_grade = grade.manual_score is not None
        self.gradebook.db.commit()

    def preprocess_cell(self, cell, resources, cell_index):
        if utils.is_grade(cell):
            self._add_score(cell, resources)
        if utils.is_solution(cell):
            self._add_comment(cell, resources)
        return cell, resources
