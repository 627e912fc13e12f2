"""The catalogue of mistakes: every mistake, made by a student, is named; an honest submission hears of none.

A submission here is the instructor's solution notebook with one mistake typed into its solution
cells (the edits below, written independently of the catalogue's variants). It runs the way a
student runs the notebook: setup and solution cells, then the visible part of every test cell, whose
`check` compares with the released references.json and raises the feedback the student reads.
"""

import contextlib
import io
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest

from lstmlab import checking
from lstmlab.grading import mistakes, preprocessors, references
from lstmlab.grading.references import is_solution_cell, is_test_cell, nbgrader_meta, split_hidden
from lstmlab.grading.sandbox import landlock_abi
from test_grading import grading_env

ROOT = Path(__file__).resolve().parents[1]

# mistake -> the edits (old text, new text) that make it in the solution cell of its function
EDITS = {
    # Exercise 3
    "output_without_bias": [("s = X @ W + b", "s = X @ W")],
    "output_fires_at_zero": [("s > 0", "s >= 0")],
    "output_zero_for_false": [("1.0, -1.0)", "1.0, 0.0)")],
    "update_error_reversed": [("eta * (d - y) * x, eta * (d - y)", "eta * (y - d) * x, eta * (y - d)")],
    "update_bias_fixed": [("x, eta * (d - y)", "x, 0.0")],
    "gradients_sign_flipped": [("e = d - (X @ W + b)", "e = (X @ W + b) - d")],
    "gradients_averaged": [('"W": -(X.T @ e), "b": -np.sum(e)', '"W": -(X.T @ e) / len(X), "b": -np.mean(e)')],
    "gradients_thresholded": [("e = d - (X @ W + b)", "e = d - np.where(X @ W + b > 0, 1.0, -1.0)")],
    "update_along_gradient": [('-eta * grads["W"], -eta * grads["b"]', 'eta * grads["W"], eta * grads["b"]')],
    "update_without_eta": [('-eta * grads["W"], -eta * grads["b"]', '-grads["W"], -grads["b"]')],
    # Exercise 5
    "sigmoid_without_steepness": [("z = l * np.asarray", "z = np.asarray")],
    "sigmoid_misprint": [("return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))",
                          "with np.errstate(all='ignore'):\n        return 1.0 / (1.0 - np.exp(-z))")],
    "forward_without_biases": [(' + params["b1"]', ""), (' + params["b2"]', "")],
    "forward_linear_output": [('y2 = sigmoid(y1 @ params["W2"].T + params["b2"])',
                               'y2 = y1 @ params["W2"].T + params["b2"]')],
    "thetas_error_reversed": [("(d - y2)", "(y2 - d)")],
    "thetas_output_without_slope": [("theta2 = (d - y2) * y2 * (1.0 - y2)", "theta2 = d - y2")],
    "thetas_slope_at_output": [("y2 * (1.0 - y2)", "sigmoid(y2) * (1.0 - sigmoid(y2))"),
                               ("y1 * (1.0 - y1)", "sigmoid(y1) * (1.0 - sigmoid(y1))")],
    "thetas_hidden_without_slope": [(" * y1 * (1.0 - y1)", "")],
    "changes_without_eta": [("eta * ", "")],
    "changes_averaged": [("theta1.T @ X", "theta1.T @ X / len(X)"), ("theta2.T @ y1", "theta2.T @ y1 / len(X)"),
                         ("sum(axis=0)", "mean(axis=0)")],
    "gradients_without_minus": [("{name: -change", "{name: change"), ('grads["X"] = -(', 'grads["X"] = (')],
    # Exercise 7
    "forward_without_b_hh": [(" + b_hh)", ")")],
    "forward_without_b_ih": [(" + b_ih + ", " + ")],
    "forward_state_not_carried": [("+ h @ w_hh.T", "+ h0 @ w_hh.T")],
    "forward_one_step_late": [("        h = np.tanh(x[t] @ w_ih.T + b_ih + h @ w_hh.T + b_hh)\n        states[t] = h",
                               "        states[t] = h\n        h = np.tanh(x[t] @ w_ih.T + b_ih + h @ w_hh.T + b_hh)")],
    "forward_w_hh_transposed": [("h @ w_hh.T", "h @ w_hh")],
    "bptt_without_slope": [("(1.0 - h[t] ** 2) * ", "")],
    "bptt_slope_at_output": [("(1.0 - h[t] ** 2)", "(1.0 - np.tanh(h[t]) ** 2)")],
    "bptt_truncated": [("(d_h[t] + back)", "d_h[t]")],
    "bptt_w_hh_not_transposed": [("back = delta[t] @ w_hh", "back = delta[t] @ w_hh.T")],
    "bptt_pairs_h_of_t": [("delta, h_prev)", "delta, h)")],
    "bptt_error_only_at_end": [("(d_h[t] + back)", "((d_h[t] if t == h.shape[0] - 1 else 0.0) + back)")],
    # Exercise 8
    "sensitivities_without_direct": [("(through_outputs + direct)", "through_outputs")],
    "sensitivities_slope_on_direct_only": [("[:, None, None, :] * (through_outputs + direct)",
                                            "[:, None, None, :] * direct + through_outputs")],
    "sensitivities_weights_transposed": [("p @ W[:, n_in:].T", "p @ W[:, n_in:]")],
    "gradient_sign_flipped": [("return -np.einsum", "return np.einsum")],
    "gradient_batch_averaged": [('"bk,buvk->uv", e, p)', '"bk,buvk->uv", e, p) / len(e)')],
    "rtrl_sensitivities_reset": [("sensitivity_step(p, W, X, y)", "sensitivity_step(np.zeros_like(p), W, X, y)")],
    "rtrl_without_mask": [("np.where(mask[t] > 0, d[t] - y, 0.0)", "d[t] - y")],
    "rtrl_gradient_one_step_late": [
        ("        p = sensitivity_step(p, W, X, y)\n        Y[t] = y\n"
         "        grad = rtrl_gradient(np.where(mask[t] > 0, d[t] - y, 0.0), p)\n",
         "        grad = rtrl_gradient(np.where(mask[t] > 0, d[t] - y, 0.0), p)\n"
         "        p = sensitivity_step(p, W, X, y)\n        Y[t] = y\n")],
    "rtrl_update_at_end": [("        if eta:\n            W = W - eta * grad\n    return total, Y, W",
                            "    return total, Y, W - eta * total")],
    # Exercise 9
    "paths_slope_one_step_late": [("Y[-1 - m, path[m]]", "Y[-m, path[m]]")],
    "paths_weights_reversed": [("W_UU[path[m - 1], path[m]]", "W_UU[path[m], path[m - 1]]")],
    "paths_without_slope": [("term *= y * (1.0 - y) * W_UU", "term *= W_UU")],
    "jacobian_right_product": [("(W[:, -n:].T @ factor)", "(factor @ W[:, -n:].T)")],
    "jacobian_not_transposed": [("(W[:, -n:].T @ factor)", "(W[:, -n:] @ factor)")],
    "jacobian_slopes_on_columns": [("factor = (y * (1.0 - y))[:, None] * (W[:, -n:].T @ factor)",
                                    "factor = (W[:, -n:].T @ factor) * (y * (1.0 - y))[None, :]")],
    "jacobian_slope_one_step_late": [("y = Y[-1 - m]", "y = Y[-m]")],
    # Exercise 12
    "gates_order_ifog": [("a_i, a_f, a_g, a_o = np.split", "a_i, a_f, a_o, a_g = np.split")],
    "gates_without_b_hh": [("+ h_prev @ w_hh.T + b_hh", "+ h_prev @ w_hh.T")],
    "gates_g_sigmoid": [("np.tanh(a_g)", "sigmoid(a_g)")],
    "step_without_forget_gate": [("c = f * c_prev + i * g", "c = c_prev + i * g")],
    "step_output_unsquashed": [("return o * np.tanh(c), c", "return o * c, c")],
    "step_output_from_old_state": [("return o * np.tanh(c), c", "return o * np.tanh(c_prev), c")],
    "layer_c_not_carried": [("lstm_step(x_t, h, c,", "lstm_step(x_t, h, c0,")],
    "layer_h_not_carried": [("lstm_step(x_t, h, c,", "lstm_step(x_t, h0, c,")],
    # Exercise 13
    "cell_not_decayed": [("y_phi[:, :, None] * p_c", "p_c")],
    "cell_g_for_slope": [("(y_in * g_slope)", "(y_in * g)")],
    "cell_tanh_slope": [("g_slope = (2.0 + g) * (2.0 - g) / 4.0", "g_slope = 1.0 - g ** 2")],
    "input_gate_not_decayed": [("y_phi[:, :, None] * p_in", "p_in")],
    "input_gate_without_slope": [("(g * y_in * (1.0 - y_in))", "g")],
    "input_gate_g_slope": [("(g * y_in * (1.0 - y_in))", "((2.0 + g) * (2.0 - g) / 4.0 * y_in * (1.0 - y_in))")],
    "forget_gate_not_carried": [("y_phi[:, :, None] * p_phi + ", "")],
    "forget_gate_without_slope": [("(s_prev * y_phi * (1.0 - y_phi))", "s_prev")],
    "weight_gradients_sign_flipped": [("return -(eps_s", "return (eps_s"), ('"W_c": -eps_s', '"W_c": eps_s')],
    "weight_gradients_block_averaged": [(".sum(axis=2)", ".mean(axis=2)")],
    "weight_gradients_interleaved_blocks": [(".reshape(n, blocks, cells_per_block, width).sum(axis=2)",
                                             ".reshape(n, cells_per_block, blocks, width).sum(axis=1)")],
    # Exercise 14
    "backward_without_tanh_slope": [("dh * o * (1.0 - tanh_c ** 2)", "dh * o")],
    "backward_tanh_slope_of_c": [("(1.0 - tanh_c ** 2)", "(1.0 - c ** 2)")],
    "backward_h_path_off_carousel": [("dc_total * f), grads", "dc * f), grads")],
    "backward_forget_gate_with_new_state": [('dc_total * cache["c_prev"] * f', "dc_total * c * f")],
    "backward_g_sigmoid_slope": [("(1.0 - g ** 2)", "g * (1.0 - g)")],
    "backward_order_ifog": [("dc_total * i * (1.0 - g ** 2),\n                         dh * tanh_c * o * (1.0 - o)]",
                             "dh * tanh_c * o * (1.0 - o),\n                         dc_total * i * (1.0 - g ** 2)]")],
    # Exercise 16
    "bi_output_not_reversed": [("out_bwd[::-1]]", "out_bwd]")],
    "bi_input_not_reversed": [("layer_forward(x[::-1], state0[1]", "layer_forward(x, state0[1]")],
    "bi_gradient_not_reversed": [("d_y[:, :, hidden:][::-1]", "d_y[:, :, hidden:]")],
    "bi_dx_not_reversed": [("dx_fwd + dx_bwd[::-1]", "dx_fwd + dx_bwd")],
    "bi_halves_swapped": [("d_y[:, :, :hidden], d_final[0]", "d_y[:, :, hidden:], d_final[0]"),
                          ("d_y[:, :, hidden:][::-1], d_final[1]", "d_y[:, :, :hidden][::-1], d_final[1]")],
    # Exercise 18
    "md_gates_predecessors_reversed": [("list(h_prev)", "list(h_prev[::-1])")],
    "md_gates_one_forget_gate": [("[sigmoid(block) for block", "[sigmoid(blocks[1]) for block")],
    "md_gates_g_sigmoid": [("np.tanh(blocks[-2])", "sigmoid(blocks[-2])")],
    "md_step_unsquashed_input": [("+ i * g", "+ i * np.arctanh(g)")],
    "md_step_forget_gates_swapped": [("f * c_prev", "f * c_prev[::-1]")],
    "md_step_output_unsquashed": [("return o * np.tanh(c), c", "return o * c, c")],
    "md_scan_dimensions_swapped": [
        ("[h[r - 1, k] if r > 0 else zero, h[r, k - 1] if k > 0 else zero]",
         "[h[r, k - 1] if k > 0 else zero, h[r - 1, k] if r > 0 else zero]"),
        ("[c[r - 1, k] if r > 0 else zero, c[r, k - 1] if k > 0 else zero]",
         "[c[r, k - 1] if k > 0 else zero, c[r - 1, k] if r > 0 else zero]")],
    "md_scan_c_not_carried": [("[c[r - 1, k] if r > 0 else zero, c[r, k - 1] if k > 0 else zero]", "[zero, zero]")],
    # Exercise 20
    "gru_reset_before_weights": [("n = np.tanh(a_x[:, 2 * hid:] + r * hn)",
                                  "n = np.tanh(a_x[:, 2 * hid:] + (r * h_prev) @ w_hh[2 * hid:].T + b_hh[2 * hid:])")],
    "gru_update_gate_swapped": [("h = z * h_prev + (1.0 - z) * n", "h = (1.0 - z) * h_prev + z * n")],
    "gru_bias_outside_reset": [("hn = a_h[:, 2 * hid:]", "hn = h_prev @ w_hh[2 * hid:].T"),
                               ("+ r * hn)", "+ r * hn + b_hh[2 * hid:])")],
    "gru_order_zrn": [("r = sigmoid(a_x[:, :hid]", "z = sigmoid(a_x[:, :hid]"),
                      ("z = sigmoid(a_x[:, hid:2 * hid]", "r = sigmoid(a_x[:, hid:2 * hid]")],
    "grub_update_sign": [("(h_prev - n)", "(n - h_prev)")],
    "grub_hn_without_reset": [("[da_r, da_z, da_n * r]", "[da_r, da_z, da_n]")],
    "grub_without_direct_path": [("dh * z + da_h", "da_h")],
}

CATALOGUED = [(a, m) for a in references.assignments(ROOT / "solutions") for m in mistakes.CATALOGUE.get(a, [])]


def run_as_student(assignment, function=None, edits=()):
    """Run the solution notebook, `edits` typed into the solution cell of `function`, like a student:
    returns {test cell: the feedback its visible checks raised} for the cells that failed."""
    folder = ROOT / "solutions" / assignment
    nb = nbformat.read(folder / f"{assignment}.ipynb", as_version=4)
    namespace, failures = {"__name__": "__main__"}, {}
    with contextlib.chdir(folder), contextlib.redirect_stdout(io.StringIO()):
        for cell in (c for c in nb.cells if c.cell_type == "code"):
            source = cell.source
            if is_solution_cell(cell) and function in references.defined_functions(source):
                for old, new in edits:
                    assert old in source, f"edit {old!r} does not apply to {function}"
                    source = source.replace(old, new)
            if is_test_cell(cell):
                try:
                    exec(split_hidden(source)[0], namespace)
                except AssertionError as error:
                    failures[nbgrader_meta(cell)["grade_id"]] = str(error)
            else:
                exec(source, namespace)
    return failures


def test_every_catalogued_mistake_has_a_submission_that_makes_it():
    assert sorted(EDITS) == sorted(m.name for _, m in CATALOGUED)
    assert len({m.name for _, m in CATALOGUED}) == len(CATALOGUED), "mistake names must be unique"


@pytest.mark.parametrize("assignment, mistake", CATALOGUED, ids=[m.name for _, m in CATALOGUED])
def test_a_submission_that_makes_the_mistake_is_told_so(assignment, mistake):
    failures = run_as_student(assignment, mistake.function, EDITS[mistake.name])
    assert failures, "the mistake passes every visible check"
    # Every check it fails names it, also where the mistake reaches a later function that calls this one.
    assert all(mistake.feedback() in text for text in failures.values()), failures


@pytest.mark.parametrize("assignment", references.assignments(ROOT / "solutions"))
def test_an_honest_submission_hears_of_no_mistake(assignment):
    assert run_as_student(assignment) == {}


@pytest.mark.parametrize("assignment", references.assignments(ROOT / "solutions"))
def test_every_graded_function_and_at_least_three_mistakes_per_assignment(assignment):
    nb = nbformat.read(ROOT / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)
    graded = {name for c in nb.cells if is_solution_cell(c) for name in references.defined_functions(c.source)}
    catalogued = mistakes.CATALOGUE[assignment]
    assert {m.function for m in catalogued} == graded
    assert len(catalogued) >= 3


@pytest.mark.parametrize("assignment, mistake", CATALOGUED, ids=[m.name for _, m in CATALOGUED])
def test_every_mistake_is_seen_by_a_visible_case_and_points_into_the_book(assignment, mistake):
    stored = json.loads((ROOT / "exercises" / assignment / checking.REFERENCES).read_text())
    assert any(mistake.name in outputs for outputs in stored["mistakes"].values())
    assert stored["catalogue"][mistake.name] == mistake.feedback()
    # The grader's own run, with any student's seed, gives the same on the visible cases.
    source = ROOT / "solutions"
    run = references.run(source, assignment, 12345)
    graders = references.mistake_outputs(source, assignment, run, 12345)
    assert all(graders[key] == outputs for key, outputs in stored["mistakes"].items())
    chapter = (ROOT / f"{mistake.chapter}.md").read_text()
    assert re.search(rf"^#+ {re.escape(mistake.section)}$", chapter, re.MULTILINE), mistake.section
    assert len(mistake.message) <= 120


def test_messages_do_not_hand_out_solution_code():
    for _, m in CATALOGUED:
        assert not re.search(r"np\.|@|\[:,|\.T\b|\bdef\b|\breturn\b", m.message), m.message


def test_the_readme_table_is_the_catalogue():
    text = (ROOT / "README.md").read_text()
    assert mistakes.readme_with_table(text) == text, "stale table: run python -m lstmlab.grading.mistakes --write"
    assert all(f"`{m.function}` | {m.message} |" in text for _, m in CATALOGUED)


# ------------------------------------------------------------------ the diagnosis, on made-up outputs

def reference(value):
    return {"value": checking.encode(value), "rtol": 1e-7, "atol": 1e-10}


def test_a_matching_variant_is_named_and_only_that_one():
    want = np.arange(1.0, 7.0).reshape(3, 2)
    variants = {"a": checking.encode(-want), "b": checking.encode(2 * want)}
    catalogue = {"a": "the sign is flipped", "b": "doubled"}
    text = checking.diagnose(reference(want), checking.encode(-want), variants, catalogue)
    assert text == "Likely mistake: the sign is flipped"
    assert "doubled" not in text


@pytest.mark.parametrize("got, clue", [
    (np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 9.0]]), "the output[0:2] is right but [2] is not"),
    (-np.arange(1.0, 7.0).reshape(3, 2), "every element has the opposite sign"),
    (3 * np.arange(1.0, 7.0).reshape(3, 2), "it is 3 times the expected output"),
    (np.arange(1.0, 7.0).reshape(3, 2) ** 2, "every sign is right, only the sizes are not"),
    (np.arange(1.0, 7.0).reshape(3, 2).T, "the output is the transpose of what is expected"),
])
def test_an_unknown_mistake_is_narrowed_down(got, clue):
    want = np.arange(1.0, 7.0).reshape(3, 2)
    text = checking.diagnose(reference(want), checking.encode(got), {}, {})
    assert text.startswith("Not a known mistake, but ") and clue in text, text
    if got.shape == want.shape:
        assert "the shape (3, 2) of the output is right" in text


def test_the_right_parts_of_a_tuple_are_named():
    want = (np.ones(2), np.zeros(3), np.full(2, 2.0))
    text = checking.diagnose(reference(want), checking.encode((np.ones(2), np.zeros(3), np.full(2, -2.0))), {}, {})
    assert "the output[0], the output[1] are right" in text and "the output[2]" in text and "opposite sign" in text


def test_a_malformed_record_gets_no_diagnosis_and_no_crash():
    for got in ({"items": 3}, {"shape": [2], "data": ["x", 1]}, {"fields": {"a": 1}}, {}, "anything", None):
        assert checking.diagnose(reference(np.ones(2)), got, {"m": checking.encode(np.zeros(2))}, {"m": "x"}) is None


def test_the_graders_verdict_names_the_mistake_too():
    want = np.arange(1.0, 5.0)
    record = {"output_type": "display_data",
              "data": {checking.MIME: {"key": "k", "value": checking.encode(-want)}}}
    passed, lines = preprocessors.verdict({"outputs": [record]}, ["k"], {"k": reference(want)},
                                          {"k": {"flip": checking.encode(-want)}}, {"flip": "the sign is flipped"})
    assert not passed and lines[0].endswith("\n      Likely mistake: the sign is flipped")
    passed, lines = preprocessors.verdict({"outputs": [record]}, ["k"], {"k": reference(-want)}, {}, {})
    assert passed and lines == ["PASS  k"]


@pytest.mark.grading
@pytest.mark.skipif(landlock_abi() < 1, reason="grading needs Linux Landlock")
def test_nbgrader_feedback_names_the_mistake(tmp_path):
    """One assignment through `make autograde`: the mistake's message reaches the graded feedback."""
    assignment, edits = "ch12_lstm_forward", EDITS["step_output_unsquashed"]
    course = tmp_path / "course"
    shutil.copytree(ROOT / "solutions" / assignment, course / "solutions" / assignment)
    shutil.copytree(ROOT / "exercises" / assignment, course / "exercises" / assignment)
    shutil.copy(ROOT / "nbgrader_config.py", course)
    nb = nbformat.read(ROOT / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)
    for cell in nb.cells:
        if is_solution_cell(cell) and "lstm_step" in references.defined_functions(cell.source):
            for old, new in edits:
                cell.source = cell.source.replace(old, new)
    for student, notebook in (("mistaken", nb), ("honest", ROOT / "solutions" / assignment / f"{assignment}.ipynb")):
        (course / "submitted" / student / assignment).mkdir(parents=True)
        target = course / "submitted" / student / assignment / f"{assignment}.ipynb"
        nbformat.write(notebook, target) if student == "mistaken" else shutil.copy(notebook, target)
    env = dict(grading_env(course), LSTMLAB_CELL_TIMEOUT="20")
    result = subprocess.run([sys.executable, "-m", "lstmlab.grading.autograde"], cwd=course, env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    def verdicts(student):
        graded = nbformat.read(course / "autograded" / student / assignment / f"{assignment}.ipynb", as_version=4)
        return "".join(o.get("text", "") for c in graded.cells if is_test_cell(c) for o in c.get("outputs", []))

    named = f"Likely mistake: {mistakes.CATALOGUE[assignment][4].feedback()}"
    assert mistakes.CATALOGUE[assignment][4].name == "step_output_unsquashed"
    mistaken = verdicts("mistaken")
    assert re.search(r"FAIL  step\.h: .*\n\s+" + re.escape(named), mistaken), mistaken
    assert "PASS  step.c" in mistaken
    assert re.search(r"FAIL  layer\.outputs: .*\n\s+" + re.escape(named), mistaken), mistaken
    honest = verdicts("honest")
    assert "FAIL" not in honest and "mistake" not in honest
    html = next((course / "feedback" / "mistaken" / assignment).glob("*.html")).read_text()
    assert "Likely mistake: the cell output uses c instead of its squashed value" in html
