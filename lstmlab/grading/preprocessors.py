"""nbgrader preprocessors that take the verdict out of the student's kernel.

`SafeExecute` runs a submission in the sandboxed kernel and survives what the submission does to
it: a cell past its time limit is interrupted, a kernel that dies or stops answering ends the run,
and the cells that did not run simply record nothing. `SaveVerdicts` then scores every test cell
from the raw records in its outputs, against the grader's own references (which the kernel could
not read), and replaces the cell's outputs with the trusted verdict, so the feedback shows what the
grader decided and not what the student's code printed.
"""

import nbformat
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbgrader import utils
from nbgrader.preprocessors import Execute, SaveAutoGrades

from lstmlab import checking
from lstmlab.grading.references import load_hidden


class SafeExecute(Execute):
    """nbgrader's Execute, but a dead or unresponsive kernel ends the run instead of the batch."""

    def preprocess(self, nb, resources, km=None):
        resources.setdefault("lstmlab", {})["aborted"] = None
        return super().preprocess(nb, resources, km=km)

    def preprocess_cell(self, cell, resources, index):
        aborted = resources["lstmlab"]["aborted"]
        if cell.cell_type != "code" or aborted:
            return cell, resources
        try:
            cell, resources = super().preprocess_cell(cell, resources, index)
        except (DeadKernelError, CellTimeoutError, RuntimeError, TimeoutError) as error:
            reason = f"the kernel stopped in cell {index + 1} ({type(error).__name__}: {error})"
            resources["lstmlab"]["aborted"] = reason
            cell.outputs.append(nbformat.v4.new_output(
                "error", ename=type(error).__name__, evalue=reason, traceback=[reason]))
            return cell, resources
        # Code that ignores the interrupt keeps the kernel busy: every later cell would only wait
        # out its own time limit, so the run ends at the first cell that ran out of time.
        if any(o.get("ename") == "CellTimeoutError" for o in cell.outputs):
            resources["lstmlab"]["aborted"] = (f"cell {index + 1} ran past the time limit "
                                               f"of {self.timeout} s")
        return cell, resources


def records(cell):
    """{key: [encoded values]} from the record outputs of one executed cell."""
    found = {}
    for output in cell.get("outputs", []):
        record = output.get("data", {}).get(checking.MIME) if output.get("output_type") == "display_data" else None
        if isinstance(record, dict) and isinstance(record.get("key"), str):
            found.setdefault(record["key"], []).append(record.get("value"))
    return found


def verdict(cell, keys, references, mistakes=None, catalogue=None):
    """(passed, lines): whether every case of a test cell matches its reference, with one line per case.

    A wrong output is compared with the outputs of the catalogued mistakes on the same case
    (`mistakes`: {key: {mistake: encoded output}}, `catalogue`: {mistake: message}) to name it.
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
            diagnosis = problem and checking.diagnose(reference, values[0], (mistakes or {}).get(key, {}),
                                                      catalogue or {})
            if diagnosis:
                problem += f"\n      {diagnosis}"
        lines.append(f"{'PASS' if not problem else 'FAIL'}  {key}" + (f": {problem}" if problem else ""))
    return all(line.startswith("PASS") for line in lines), lines


class SaveVerdicts(SaveAutoGrades):
    """Score autograded test cells from their records, never from what the kernel reported."""

    def preprocess(self, nb, resources):
        self.references = load_hidden(resources["nbgrader"]["assignment"])
        self.aborted = resources.get("lstmlab", {}).get("aborted")
        return super().preprocess(nb, resources)

    def _add_score(self, cell, resources):
        meta = cell.metadata["nbgrader"]
        if meta.get("solution", False):  # a manually graded answer: nbgrader's own handling
            return super()._add_score(cell, resources)
        keys = self.references["cells"].get(meta["grade_id"])
        if keys is None:
            raise KeyError(f"no references for test cell {meta['grade_id']!r}: "
                           "run python -m lstmlab.grading.references")
        passed, lines = verdict(cell, keys, self.references["values"], self.references.get("mistakes"),
                                self.references.get("catalogue"))
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
