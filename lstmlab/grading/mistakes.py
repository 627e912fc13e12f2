"""The catalogue of known mistakes: for every graded function, wrong variants of the lstmlab reference.

Each entry is a function with the graded function's signature that makes exactly one mistake a
student is known to make (a flipped sign, a transposed weight matrix, a missing bias or slope, the
slope taken at the wrong point, an off-by-one in time, a state that is not carried, the truncated
gradient, the tutorial's misprint), and a short message in the book's notation that says what the
wrong output is. The reference script runs every test case once more per mistake
(:func:`variant_outputs`); where the student's output matches a mistake's output and not the
reference, `lstmlab.checking.diagnose` names the mistake, in the student's own test cells (visible
cases, from references.json) and in the graded feedback (every case, outside the kernel).

`python -m lstmlab.grading.mistakes` prints the catalogue as the Markdown table of README.md;
`--write` puts it there.
"""

import argparse
import contextlib
import itertools
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Callable

import numpy as np
from docutils.nodes import make_id

from lstmlab.grading.adapters import gru_step, lstm_gates, lstm_step, md_gates, md_scan, md_step
from lstmlab.grading.adapters import rnn_bptt as tanh_layer_backward
from lstmlab.grading.adapters import rnn_forward as tanh_layer
from lstmlab.numpy.activations import g_squash_prime, sigmoid, sigmoid_prime, tanh, tanh_prime
from lstmlab.numpy.bidirectional import backward as bidirectional_backward
from lstmlab.numpy.bidirectional import forward as bidirectional_forward
from lstmlab.numpy.delta_rule import gradients as delta_gradients
from lstmlab.numpy.delta_rule import update as delta_update
from lstmlab.numpy.feedforward import error_signals, forward, gradients, weight_changes
from lstmlab.numpy.lstm_original import (cell_partials, forget_gate_partials, input_gate_partials,
                                         partial_weight_gradients)
from lstmlab.numpy.perceptron import output as perceptron_output
from lstmlab.numpy.perceptron import state as perceptron_state
from lstmlab.numpy.perceptron import update as perceptron_update
from lstmlab.numpy.rtrl import gradient as rtrl_gradient
from lstmlab.numpy.rtrl import sensitivity_step

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
TABLE_START, TABLE_END = "<!-- mistakes table: start -->", "<!-- mistakes table: end -->"


@dataclass(frozen=True)
class Mistake:
    """One known mistake: the graded function it is made in, and a variant that makes exactly it."""

    assignment: str
    function: str
    variant: Callable
    message: str
    equation: str
    chapter: str
    section: str

    @property
    def name(self):
        return self.variant.__name__

    @property
    def link(self):
        """The book page and section that explain the right thing, relative to the book's root."""
        return f"{self.chapter}.html#{make_id(self.section.replace('$', ''))}"

    def chapter_title(self):
        text = (ROOT / f"{self.chapter}.md").read_text()
        return re.search(r"^# (.+)$", text, re.MULTILINE).group(1).strip()

    def feedback(self):
        """What a student is told: the message, the equation and where the book explains it."""
        section = self.section.replace("$", "")
        return f"{self.message} ({self.equation}; book: {self.chapter_title()}, \"{section}\", {self.link})"


CATALOGUE = {}


def mistake(assignment, function, equation, chapter, section, message):
    """Register the decorated variant of `function` in the catalogue."""
    def register(variant):
        CATALOGUE.setdefault(assignment, []).append(
            Mistake(assignment, function, variant, message, equation, chapter, section))
        return variant
    return register


def blocks(array, order, parts):
    """`array` with its first axis cut into `parts` equal blocks, put in the given order."""
    return np.concatenate([np.split(array, parts)[k] for k in order])


# ------------------------------------------------------------------ Exercise 3: learning rules
CH03, BOOK03 = "ch03_learning_rules", "book/part1/ch03_learning_rules"


@mistake(CH03, "perceptron_output", "Sec. 3.1", BOOK03, "The perceptron rule",
         "the bias is missing: the state is s = z + b")
def output_without_bias(W, b, X):
    return perceptron_output(W, 0.0, X)


@mistake(CH03, "perceptron_output", "Sec. 3.1", BOOK03, "The perceptron rule",
         "a state s = 0 fired: the unit fires only for s > 0")
def output_fires_at_zero(W, b, X):
    return np.where(perceptron_state(W, b, X) >= 0, 1.0, -1.0)


@mistake(CH03, "perceptron_output", "Sec. 3.1", BOOK03, "The perceptron rule",
         "'false' came out as 0: the perceptron's outputs are 1 and −1")
def output_zero_for_false(W, b, X):
    return np.maximum(perceptron_output(W, b, X), 0.0)


@mistake(CH03, "perceptron_update", "Sec. 3.3", BOOK03, "The perceptron rule",
         "the error term is reversed: ΔW_i = η (d − y) x_i, not η (y − d) x_i")
def update_error_reversed(W, b, x, d, eta):
    dW, db = perceptron_update(W, b, x, d, eta)
    return -dW, -db


@mistake(CH03, "perceptron_update", "Sec. 3.3", BOOK03, "The perceptron rule",
         "the bias did not change: it is a weight whose input is always 1, Δb = η (d − y)")
def update_bias_fixed(W, b, x, d, eta):
    dW, db = perceptron_update(W, b, x, d, eta)
    return dW, 0.0 * db


@mistake(CH03, "delta_rule_gradients", "Sec. 3.3", BOOK03, "The delta rule",
         "every partial derivative has the wrong sign: ∂E/∂W_i = −Σ_n (d_n − y_n) x_n,i")
def gradients_sign_flipped(W, b, X, d):
    return {k: -v for k, v in delta_gradients(W, b, X, d).items()}


@mistake(CH03, "delta_rule_gradients", "Sec. 3.3", BOOK03, "The delta rule",
         "∂E/∂W and ∂E/∂b are averaged over the samples: E sums over them")
def gradients_averaged(W, b, X, d):
    grads = delta_gradients(W, b, X, d)
    return {**grads, "W": grads["W"] / len(X), "b": grads["b"] / len(X)}


@mistake(CH03, "delta_rule_gradients", "Sec. 3.3", BOOK03, "The delta rule",
         "y is the thresholded output: the delta rule's unit is linear, y = s")
def gradients_thresholded(W, b, X, d):
    s = perceptron_state(W, b, X)
    return delta_gradients(W, b, X, d + s - np.where(s > 0, 1.0, -1.0))


@mistake(CH03, "delta_rule_update", "Sec. 3.3", BOOK03, "The delta rule",
         "the step goes up the error surface: ΔW = −η ∂E/∂W")
def update_along_gradient(W, b, X, d, eta):
    dW, db = delta_update(W, b, X, d, eta)
    return -dW, -db


@mistake(CH03, "delta_rule_update", "Sec. 3.3", BOOK03, "The delta rule",
         "the learning rate η is missing: ΔW = −η ∂E/∂W")
def update_without_eta(W, b, X, d, eta):
    return delta_update(W, b, X, d, 1.0)


# ------------------------------------------------------------------ Exercise 5: backpropagation
CH05, BOOK05 = "ch05_backpropagation", "book/part1/ch05_backpropagation"


@mistake(CH05, "sigmoid", "Sec. 3.4", "book/part1/ch04_sigmoid_unit", "Steepness",
         "the steepness is missing: σ(s) = 1 / (1 + exp(−l s))")
def sigmoid_without_steepness(s, l=1.0):
    return sigmoid(np.asarray(s, dtype=float))


@mistake(CH05, "sigmoid", "Sec. 3.4, the tutorial's misprint", "book/part1/ch04_sigmoid_unit", "The unit",
         "this is 1 / (1 − exp(−l s)), the tutorial's misprint: σ(s) = 1 / (1 + exp(−l s))")
def sigmoid_misprint(s, l=1.0):
    with np.errstate(all="ignore"):
        return 1.0 / (1.0 - np.exp(-l * np.asarray(s, dtype=float)))


@mistake(CH05, "forward", "Eq. 2", BOOK05, "The network",
         "the biases are missing: s_u = z_u + b_u")
def forward_without_biases(params, X):
    return forward({k: v * (k[0] == "W") for k, v in params.items()}, X)


@mistake(CH05, "forward", "Eq. 1", BOOK05, "The network",
         "the output units are not squashed: y_o = σ(s_o)")
def forward_linear_output(params, X):
    ys = forward(params, X)
    return ys[:-1] + [ys[-2] @ params["W2"].T + params["b2"]]


def _thetas(params, ys, d, slope=sigmoid_prime, output_slope=True, hidden_slope=True):
    """The error signals with one part changed (an argument), for the variants below."""
    theta2 = (d - ys[2]) * (slope(ys[2]) if output_slope else 1.0)
    theta1 = theta2 @ params["W2"]
    return [theta1 * (slope(ys[1]) if hidden_slope else 1.0), theta2]


@mistake(CH05, "error_signals", "Eq. 5", BOOK05, "The error and the weight update",
         "the error term is reversed: ϑ_o = (d_o − y_o) f'(s_o), not (y_o − d_o) f'(s_o)")
def thetas_error_reversed(params, ys, d):
    return [-theta for theta in error_signals(params, ys, d)]


@mistake(CH05, "error_signals", "Eq. 5", BOOK05, "The error and the weight update",
         "ϑ_o lacks the slope f'(s_o) = y_o (1 − y_o)")
def thetas_output_without_slope(params, ys, d):
    return _thetas(params, ys, d, output_slope=False)


@mistake(CH05, "error_signals", "Eq. 5", BOOK05, "The error and the weight update",
         "the slope is taken at the output instead of the net input: f'(s) = y (1 − y), not σ(y) (1 − σ(y))")
def thetas_slope_at_output(params, ys, d):
    return _thetas(params, ys, d, slope=lambda y: sigmoid_prime(sigmoid(y)))


@mistake(CH05, "error_signals", "Eq. 5", BOOK05, "The error and the weight update",
         "ϑ_h lacks the hidden unit's slope f'(s_h) = y_h (1 − y_h)")
def thetas_hidden_without_slope(params, ys, d):
    return _thetas(params, ys, d, hidden_slope=False)


@mistake(CH05, "weight_changes", "Eq. 4", BOOK05, "The error and the weight update",
         "the learning rate is missing: ΔW_[v,u] = η ϑ_u y_v")
def changes_without_eta(ys, thetas, eta):
    return weight_changes(ys, thetas, 1.0)


@mistake(CH05, "weight_changes", "Eq. 4", BOOK05, "The error and the weight update",
         "the changes are averaged over the samples: they are summed")
def changes_averaged(ys, thetas, eta):
    return weight_changes(ys, thetas, eta / len(ys[0]))


@mistake(CH05, "gradients", "Eq. 4", BOOK05, "The error and the weight update",
         "every gradient has the wrong sign: ϑ_u = −∂E/∂s_u, so ∂E/∂W_[v,u] = −Σ ϑ_u y_v")
def gradients_without_minus(params, X, d):
    return {k: -v for k, v in gradients(params, X, d).items()}


# ------------------------------------------------------------------ Exercise 7: Elman layer and BPTT
CH07, BOOK07 = "ch07_elman_bptt", "book/part2/ch07_bptt"


@mistake(CH07, "rnn_forward", "Eq. 7", BOOK07, "The fully recurrent network",
         "the bias b_hh is missing: z(t) = W_ih x(t) + b_ih + W_hh h(t−1) + b_hh")
def forward_without_b_hh(x, h0, w_ih, w_hh, b_ih, b_hh):
    return tanh_layer(x, h0, w_ih, w_hh, b_ih, 0.0 * b_hh)


@mistake(CH07, "rnn_forward", "Eq. 7", BOOK07, "The fully recurrent network",
         "the bias b_ih is missing: z(t) = W_ih x(t) + b_ih + W_hh h(t−1) + b_hh")
def forward_without_b_ih(x, h0, w_ih, w_hh, b_ih, b_hh):
    return tanh_layer(x, h0, w_ih, w_hh, 0.0 * b_ih, b_hh)


@mistake(CH07, "rnn_forward", "Eq. 7", BOOK07, "The fully recurrent network",
         "every step started from h(0): h(t) is computed from h(t−1)")
def forward_state_not_carried(x, h0, w_ih, w_hh, b_ih, b_hh):
    return np.concatenate([tanh_layer(x_t[None], h0, w_ih, w_hh, b_ih, b_hh) for x_t in x])


@mistake(CH07, "rnn_forward", "Eq. 7", BOOK07, "The fully recurrent network",
         "the output is one step late: it holds h(0), …, h(T−1) instead of h(1), …, h(T)")
def forward_one_step_late(x, h0, w_ih, w_hh, b_ih, b_hh):
    return np.concatenate([h0[None], tanh_layer(x, h0, w_ih, w_hh, b_ih, b_hh)[:-1]])


@mistake(CH07, "rnn_forward", "Eq. 7", BOOK07, "The fully recurrent network",
         "W_hh is transposed: row u of W_hh holds the weights into unit u")
def forward_w_hh_transposed(x, h0, w_ih, w_hh, b_ih, b_hh):
    return tanh_layer(x, h0, w_ih, w_hh.T, b_ih, b_hh)


def _bptt(d_h, x, h0, h, w_ih, w_hh, slope=tanh_prime, back=lambda delta, w_hh: delta @ w_hh, late=False,
          through_time=True):
    """BPTT through the Elman layer with one part changed (an argument), for the variants below."""
    delta = np.empty_like(h)
    carried = np.zeros_like(h0)
    for t in reversed(range(len(h))):
        delta[t] = slope(h[t]) * (d_h[t] + carried * through_time)
        carried = back(delta[t], w_hh)
    h_prev = h if late else np.concatenate([h0[None], h[:-1]])
    db = delta.sum(axis=(0, 1))
    return (delta @ w_ih, carried, np.einsum("tbu,tbd->ud", delta, x), np.einsum("tbu,tbv->uv", delta, h_prev),
            db, db.copy())


@mistake(CH07, "rnn_bptt", "Eq. 12", BOOK07, "The error signal, backwards in time",
         "δ(t) lacks the slope of tanh, 1 − h(t)²")
def bptt_without_slope(d_h, x, h0, h, w_ih, w_hh):
    return _bptt(d_h, x, h0, h, w_ih, w_hh, slope=np.ones_like)


@mistake(CH07, "rnn_bptt", "Eq. 12", BOOK07, "The error signal, backwards in time",
         "the slope is taken at the output instead of the net input: tanh'(z(t)) = 1 − h(t)², not 1 "
         "− tanh²(h(t))")
def bptt_slope_at_output(d_h, x, h0, h, w_ih, w_hh):
    return _bptt(d_h, x, h0, h, w_ih, w_hh, slope=lambda h: tanh_prime(tanh(h)))


@mistake(CH07, "rnn_bptt", "Eq. 12", BOOK07, "Truncated BPTT",
         "the error is not carried back in time (a truncation): ∂E/∂h(t) also receives W_hhᵀ δ(t+1)")
def bptt_truncated(d_h, x, h0, h, w_ih, w_hh):
    return _bptt(d_h, x, h0, h, w_ih, w_hh, through_time=False)


@mistake(CH07, "rnn_bptt", "Eq. 12", BOOK07, "The error signal, backwards in time",
         "the error went back through W_hh instead of its transpose: ∂E/∂h(t−1) gets W_hhᵀ δ(t)")
def bptt_w_hh_not_transposed(d_h, x, h0, h, w_ih, w_hh):
    return _bptt(d_h, x, h0, h, w_ih, w_hh, back=lambda delta, w_hh: delta @ w_hh.T)


@mistake(CH07, "rnn_bptt", "Eq. 12, the tutorial's misprint", BOOK07, "The error signal, backwards in time",
         "only the last step's ∂E/∂h(T) was injected (Eq. 12 as printed): every δ(t) adds its own d_h")
def bptt_error_only_at_end(d_h, x, h0, h, w_ih, w_hh):
    return tanh_layer_backward(np.concatenate([0.0 * d_h[:-1], d_h[-1:]]), x, h0, h, w_ih, w_hh)


@mistake(CH07, "rnn_bptt", "Eq. 12", BOOK07, "The error signal, backwards in time",
         "∂E/∂W_hh pairs δ(t) with h(t): W_hh multiplied h(t−1), so pair it with h(t−1)")
def bptt_pairs_h_of_t(d_h, x, h0, h, w_ih, w_hh):
    return _bptt(d_h, x, h0, h, w_ih, w_hh, late=True)


# ------------------------------------------------------------------ Exercise 8: RTRL
CH08, BOOK08 = "ch08_rtrl", "book/part2/ch08_rtrl"


def _direct(W, X):
    """delta_uk X_v: the term of Eq. 18 through which W[u, v] acts on unit u itself."""
    return np.einsum("uk,bv->buvk", np.eye(W.shape[0]), X)


@mistake(CH08, "sensitivity_step", "Eq. 18", BOOK08, "Sensitivities",
         "the direct term δ_uk X_v(τ+1) is missing")
def sensitivities_without_direct(p, W, X, y):
    return sensitivity_step(p, W, X, y) - sigmoid_prime(y)[:, None, None, :] * _direct(W, X)


@mistake(CH08, "sensitivity_step", "Eq. 18", BOOK08, "Sensitivities",
         "f'_k multiplies only the direct term: it multiplies the whole bracket")
def sensitivities_slope_on_direct_only(p, W, X, y):
    return sensitivity_step(np.zeros_like(p), W, X, y) + p @ W[:, -W.shape[0]:].T


@mistake(CH08, "sensitivity_step", "Eq. 18", BOOK08, "Sensitivities",
         "the carried term uses the transposed recurrent weights: it is Σ_l W_[k,l] p^l_uv, into k from l")
def sensitivities_weights_transposed(p, W, X, y):
    n = W.shape[0]
    return sensitivity_step(p, np.concatenate([W[:, :-n], W[:, -n:].T], axis=1), X, y)


@mistake(CH08, "rtrl_gradient", "Eq. 14, the tutorial's misprint", BOOK08, "Sensitivities",
         "the sign is flipped: ∂E/∂W = −Σ_k e_k p^k (Eq. 14 prints the change with the wrong sign)")
def gradient_sign_flipped(e, p):
    return -rtrl_gradient(e, p)


@mistake(CH08, "rtrl_gradient", "Eq. 14", BOOK08, "Sensitivities",
         "the gradient is averaged over the batch: a batch's error is the sum of its examples' errors")
def gradient_batch_averaged(e, p):
    return rtrl_gradient(e, p) / len(e)


def _rtrl(W, x, d, mask, y0, eta, reset=False, masked=True, p_first=True, online=True):
    """RTRL over a sequence with one part changed (an argument), for the variants below."""
    y = np.zeros((x.shape[1], W.shape[0])) if y0 is None else y0
    p = np.zeros((x.shape[1],) + W.shape + (W.shape[0],))
    total, Y, W_now = np.zeros_like(W), [], W
    for x_t, d_t, m_t in zip(x, d, mask):
        X = np.concatenate([x_t, y], axis=1)
        y = sigmoid(X @ W_now.T)
        p_new = sensitivity_step(0.0 * p if reset else p, W_now, X, y)
        grad = rtrl_gradient(np.where(m_t > 0, d_t - y, 0.0) if masked else d_t - y, p_new if p_first else p)
        p = p_new
        Y.append(y)
        total = total + grad
        W_now = W_now - eta * grad if online else W_now
    return total, np.stack(Y), W_now if online else W - eta * total


@mistake(CH08, "rtrl", "Eqs. 18-19", BOOK08, "Sensitivities",
         "the sensitivities were restarted from p = 0 at every step (a truncation): Eq. 19 holds only at the start")
def rtrl_sensitivities_reset(W, x, d, mask, y0=None, eta=0.0):
    return _rtrl(W, x, d, mask, y0, eta, reset=True)


@mistake(CH08, "rtrl", "Eq. 14", BOOK08, "Sensitivities",
         "errors were counted where the mask is 0: e_k = 0 for units without a target")
def rtrl_without_mask(W, x, d, mask, y0=None, eta=0.0):
    return _rtrl(W, x, d, mask, y0, eta, masked=False)


@mistake(CH08, "rtrl", "Eqs. 14, 18", BOOK08, "Sensitivities",
         "the gradient used the sensitivities of the step before: carry p forward first, then Eq. 14")
def rtrl_gradient_one_step_late(W, x, d, mask, y0=None, eta=0.0):
    return _rtrl(W, x, d, mask, y0, eta, p_first=False)


@mistake(CH08, "rtrl", "Eq. 14", BOOK08, "Learning while the data arrive",
         "the weights changed once, at the end: online, W changes right after every step")
def rtrl_update_at_end(W, x, d, mask, y0=None, eta=0.0):
    return _rtrl(W, x, d, mask, y0, eta, online=False)


# ------------------------------------------------------------------ Exercise 9: the vanishing error
CH09, BOOK09 = "ch09_vanishing_error", "book/part2/ch09_vanishing_error"


def _path_sum(W, Y, v, o, q, lag=1, weight=lambda W_UU, u, w: W_UU[w, u], slope=sigmoid_prime):
    """Eq. 21 summed over paths with one part changed (an argument), for the variants below: the
    weight of step m from u = u_m into w = u_(m−1), and the slope."""
    W_UU = W[:, -W.shape[0]:]
    total = 0.0
    for middle in itertools.product(range(W.shape[0]), repeat=q - 1):
        path = (o, *middle, v)
        total += np.prod([slope(Y[-lag - m, path[m]]) * weight(W_UU, path[m], path[m - 1])
                          for m in range(1, q + 1)])
    return float(total)


@mistake(CH09, "path_sum_factor", "Eq. 21", BOOK09, "One step back, many steps back",
         "the slopes are one step late: u_m's slope is that at time t − m, row Y[−1 − m]")
def paths_slope_one_step_late(W, Y, v, o, q):
    return _path_sum(W, Y, v, o, q, lag=0)


@mistake(CH09, "path_sum_factor", "Eq. 21, the tutorial's misprint", BOOK09, "One step back, many steps back",
         "the weights run the wrong way: the error goes back along W_[u_(m−1), u_m], from u_m into u_(m−1)")
def paths_weights_reversed(W, Y, v, o, q):
    return _path_sum(W, Y, v, o, q, weight=lambda W_UU, u, w: W_UU[u, w])


@mistake(CH09, "path_sum_factor", "Eq. 21", BOOK09, "One step back, many steps back",
         "the slopes are missing: each factor is f'(z_(u_m)(t − m)) W_[u_(m−1), u_m]")
def paths_without_slope(W, Y, v, o, q):
    return _path_sum(W, Y, v, o, q, slope=np.ones_like)


def _matrix_factor(W, Y, q, lag=1, step=lambda slope, W_UU, F: slope[:, None] * (W_UU.T @ F)):
    """Eq. 21 as a matrix product with one part changed (an argument), for the variants below."""
    W_UU = W[:, -W.shape[0]:]
    F = np.eye(W.shape[0])
    for m in range(1, q + 1):
        F = step(sigmoid_prime(Y[-lag - m]), W_UU, F)
    return F


@mistake(CH09, "jacobian_factor", "Eq. 21", BOOK09, "One step back, many steps back",
         "W_UUᵀ multiplies on the wrong side: F^(m) = diag(f') W_UUᵀ F^(m−1)")
def jacobian_right_product(W, Y, q):
    return _matrix_factor(W, Y, q, step=lambda slope, W_UU, F: slope[:, None] * (F @ W_UU.T))


@mistake(CH09, "jacobian_factor", "Eq. 20", BOOK09, "One step back, many steps back",
         "the error went forward along W_UU: it goes back along W_UUᵀ, F^(m) = diag(f') W_UUᵀ F^(m−1)")
def jacobian_not_transposed(W, Y, q):
    return _matrix_factor(W, Y, q, step=lambda slope, W_UU, F: slope[:, None] * (W_UU @ F))


@mistake(CH09, "jacobian_factor", "Eq. 21", BOOK09, "One step back, many steps back",
         "the slopes scale columns: diag(f'(z(t − m))) scales row v")
def jacobian_slopes_on_columns(W, Y, q):
    return _matrix_factor(W, Y, q, step=lambda slope, W_UU, F: (W_UU.T @ F) * slope[None, :])


@mistake(CH09, "jacobian_factor", "Eq. 21", BOOK09, "One step back, many steps back",
         "the slopes are one step late: step m uses f'(z(t − m)), row Y[−1 − m]")
def jacobian_slope_one_step_late(W, Y, q):
    return _matrix_factor(W, Y, q, lag=0)


# ------------------------------------------------------------------ Exercise 12: LSTM forward
CH12, BOOK12 = "ch12_lstm_forward", "book/part3/ch12_forget_gates"
MATRIX14 = "book/part3/ch14_modern_lstm"


def _net_input(x_t, h_prev, w_ih, w_hh, b_ih, b_hh):
    return x_t @ w_ih.T + b_ih + h_prev @ w_hh.T + b_hh


@mistake(CH12, "lstm_gates", "Eqs. 25, 27, 29, 37", MATRIX14, "One layer in matrix form",
         "g and o are read from each other's rows: torch's order is i, f, g, o")
def gates_order_ifog(x_t, h_prev, w_ih, w_hh, b_ih, b_hh):
    return lstm_gates(x_t, h_prev, *(blocks(w, [0, 1, 3, 2], 4) for w in (w_ih, w_hh, b_ih, b_hh)))


@mistake(CH12, "lstm_gates", "Eqs. 25, 27, 29, 37", MATRIX14, "One layer in matrix form",
         "the bias b_hh is missing: a = W_ih x + b_ih + W_hh h(t−1) + b_hh")
def gates_without_b_hh(x_t, h_prev, w_ih, w_hh, b_ih, b_hh):
    return lstm_gates(x_t, h_prev, w_ih, w_hh, b_ih, 0.0 * b_hh)


@mistake(CH12, "lstm_gates", "Eq. 29", MATRIX14, "One layer in matrix form",
         "g is squashed with the sigmoid: the cell input is g = tanh(a_g)")
def gates_g_sigmoid(x_t, h_prev, w_ih, w_hh, b_ih, b_hh):
    i, f, _, o = lstm_gates(x_t, h_prev, w_ih, w_hh, b_ih, b_hh)
    return i, f, sigmoid(np.split(_net_input(x_t, h_prev, w_ih, w_hh, b_ih, b_hh), 4, axis=1)[2]), o


@mistake(CH12, "lstm_step", "Eq. 38", BOOK12, "The forget gate, Eqs. 36–38",
         "c(t−1) is not scaled by the forget gate: c(t) = f ⊙ c(t−1) + i ⊙ g")
def step_without_forget_gate(x_t, h_prev, c_prev, w_ih, w_hh, b_ih, b_hh):
    i, f, g, o = lstm_gates(x_t, h_prev, w_ih, w_hh, b_ih, b_hh)
    c = c_prev + i * g
    return o * np.tanh(c), c


@mistake(CH12, "lstm_step", "Eqs. 32-33", BOOK12, "The forget gate, Eqs. 36–38",
         "the cell output uses c instead of its squashed value: h = o ⊙ tanh(c)")
def step_output_unsquashed(x_t, h_prev, c_prev, w_ih, w_hh, b_ih, b_hh):
    _, c = lstm_step(x_t, h_prev, c_prev, w_ih, w_hh, b_ih, b_hh)
    return lstm_gates(x_t, h_prev, w_ih, w_hh, b_ih, b_hh)[3] * c, c


@mistake(CH12, "lstm_step", "Eqs. 32, 38", BOOK12, "The forget gate, Eqs. 36–38",
         "h uses the old cell state: h(t) = o ⊙ tanh(c(t)), with the new c(t)")
def step_output_from_old_state(x_t, h_prev, c_prev, w_ih, w_hh, b_ih, b_hh):
    _, c = lstm_step(x_t, h_prev, c_prev, w_ih, w_hh, b_ih, b_hh)
    return lstm_gates(x_t, h_prev, w_ih, w_hh, b_ih, b_hh)[3] * np.tanh(c_prev), c


def _unrolled(x, h0, c0, params, carry_h=True, carry_c=True, step=lstm_step):
    """The layer as a loop over `step`, with one part changed (an argument), for the variants below."""
    h, c, hs = h0, c0, []
    for x_t in x:
        h, c = step(x_t, h if carry_h else h0, c if carry_c else c0, *params)
        hs.append(h)
    return np.stack(hs), (h, c)


def _step_from_gates(gates):
    """lstm_step computed from the gate activations that `gates` returns (Eqs. 32, 38)."""
    def step(x_t, h_prev, c_prev, *params):
        i, f, g, o = gates(x_t, h_prev, *params)
        c = f * c_prev + i * g
        return o * np.tanh(c), c
    return step


def _layer_from_step(step):
    return lambda x, h0, c0, *params: _unrolled(x, h0, c0, params, step=step)


@mistake(CH12, "lstm_layer", "Eq. 38", BOOK12, "The forget gate, Eqs. 36–38",
         "every step started from c(0): carry c(t) to the next step as well as h(t)")
def layer_c_not_carried(x, h0, c0, w_ih, w_hh, b_ih, b_hh):
    return _unrolled(x, h0, c0, (w_ih, w_hh, b_ih, b_hh), carry_c=False)


@mistake(CH12, "lstm_layer", "Eqs. 25, 27, 29, 37", BOOK12, "The forget gate, Eqs. 36–38",
         "every step read h(0): the gates read the previous output h(t−1)")
def layer_h_not_carried(x, h0, c0, w_ih, w_hh, b_ih, b_hh):
    return _unrolled(x, h0, c0, (w_ih, w_hh, b_ih, b_hh), carry_h=False)


# ------------------------------------------------------------------ Exercise 13: truncated partials
CH13, BOOK13 = "ch13_truncated_partials", "book/part3/ch13_hybrid_learning"
RTRL13 = "The RTRL part: cells, input gates, forget gates"


@mistake(CH13, "cell_partials", "Eq. 44", BOOK13, RTRL13,
         "the old partial is not scaled by the forget gate: it decays as ∂s/∂W(τ−1) y_φ(τ)")
def cell_not_decayed(p_c, y_phi, y_in, g, x_units):
    return cell_partials(p_c, np.ones_like(y_phi), y_in, g, x_units)


@mistake(CH13, "cell_partials", "Eq. 44", BOOK13, RTRL13,
         "the new term uses g instead of its slope g'(z_c) = (2 + g)(2 − g)/4")
def cell_g_for_slope(p_c, y_phi, y_in, g, x_units):
    return cell_partials(p_c, y_phi, y_in * g / g_squash_prime(g), g, x_units)


@mistake(CH13, "cell_partials", "Eq. 44", BOOK13, RTRL13,
         "g'(z_c) is tanh's slope 1 − g²: for g = 4σ(z) − 2 it is (2 + g)(2 − g)/4")
def cell_tanh_slope(p_c, y_phi, y_in, g, x_units):
    return cell_partials(p_c, y_phi, y_in * tanh_prime(g) / g_squash_prime(g), g, x_units)


@mistake(CH13, "input_gate_partials", "Eq. 45", BOOK13, RTRL13,
         "the old partial is not scaled by the forget gate: it decays as ∂s/∂W(τ−1) y_φ(τ)")
def input_gate_not_decayed(p_in, y_phi, y_in, g, x_units):
    return input_gate_partials(p_in, np.ones_like(y_phi), y_in, g, x_units)


@mistake(CH13, "input_gate_partials", "Eq. 45", BOOK13, RTRL13,
         "the gate's slope f'_in(z_in) = y_in (1 − y_in) is missing from the new term")
def input_gate_without_slope(p_in, y_phi, y_in, g, x_units):
    return input_gate_partials(p_in, y_phi, y_in, g, 0.0 * x_units) + g[:, :, None] * x_units[:, None, :]


@mistake(CH13, "input_gate_partials", "Eq. 45", BOOK13, RTRL13,
         "the new term uses g'(z_c): the input gate scales g(z_c) itself")
def input_gate_g_slope(p_in, y_phi, y_in, g, x_units):
    return input_gate_partials(p_in, y_phi, y_in, g_squash_prime(g), x_units)


@mistake(CH13, "forget_gate_partials", "Eq. 46", BOOK13, RTRL13,
         "the old partial is dropped (truncated): it is carried on, scaled by y_φ(τ)")
def forget_gate_not_carried(p_phi, y_phi, s_prev, x_units):
    return forget_gate_partials(np.zeros_like(p_phi), y_phi, s_prev, x_units)


@mistake(CH13, "forget_gate_partials", "Eq. 46", BOOK13, RTRL13,
         "the gate's slope f'_φ(z_φ) = y_φ (1 − y_φ) is missing from the new term")
def forget_gate_without_slope(p_phi, y_phi, s_prev, x_units):
    return forget_gate_partials(p_phi, y_phi, s_prev, 0.0 * x_units) + s_prev[:, :, None] * x_units[:, None, :]


@mistake(CH13, "partial_weight_gradients", "Eqs. 42-43", BOOK13, RTRL13,
         "the sign is missing: ∂E/∂W = −ε_s ∂s/∂W")
def weight_gradients_sign_flipped(eps_s, p_c, p_in, p_phi, cells_per_block):
    return {k: -v for k, v in partial_weight_gradients(eps_s, p_c, p_in, p_phi, cells_per_block).items()}


@mistake(CH13, "partial_weight_gradients", "Eq. 43", BOOK13, RTRL13,
         "a gate's gradient is averaged over its block's cells: it is their sum")
def weight_gradients_block_averaged(eps_s, p_c, p_in, p_phi, cells_per_block):
    grads = partial_weight_gradients(eps_s, p_c, p_in, p_phi, cells_per_block)
    return {k: v if k == "W_c" else v / cells_per_block for k, v in grads.items()}


@mistake(CH13, "partial_weight_gradients", "Eq. 43", BOOK13, RTRL13,
         "the blocks were formed from interleaved cells: block m holds the consecutive cells mC, …, "
         "mC + C − 1")
def weight_gradients_interleaved_blocks(eps_s, p_c, p_in, p_phi, cells_per_block):
    n_blocks = eps_s.shape[1] // cells_per_block
    # Reorder the cells so that the reference's consecutive groups are the interleaved ones.
    order = np.arange(eps_s.shape[1]).reshape(cells_per_block, n_blocks).T.reshape(-1)
    gates = partial_weight_gradients(eps_s[:, order], p_c[:, order], p_in[:, order],
                                     None if p_phi is None else p_phi[:, order], cells_per_block)
    return {**gates, "W_c": partial_weight_gradients(eps_s, p_c, p_in, None, cells_per_block)["W_c"]}


# ------------------------------------------------------------------ Exercise 14: LSTM backward step
CH14, BOOK14 = "ch14_lstm_backward", "book/part3/ch14_modern_lstm"


def _lstm_backward(dh, dc, cache, h_slope=lambda c: tanh_prime(np.tanh(c)), g_slope=tanh_prime,
                   f_input="c_prev", order=(0, 1, 2, 3), h_to_carousel=True):
    """The backward step with one part changed (an argument), for the variants below."""
    i, f, g, o, c = (cache[k] for k in "ifgoc")
    through_h = dh * o * h_slope(c)
    dc_total = dc + through_h
    da = [dc_total * g * sigmoid_prime(i), dc_total * cache[f_input] * sigmoid_prime(f),
          dc_total * i * g_slope(g), dh * np.tanh(c) * sigmoid_prime(o)]
    da = np.concatenate([da[k] for k in order], axis=1)
    grads = {"w_ih": da.T @ cache["x"], "w_hh": da.T @ cache["h_prev"], "b_ih": da.sum(axis=0),
             "b_hh": da.sum(axis=0)}
    return da @ cache["w_ih"], (da @ cache["w_hh"], (dc_total if h_to_carousel else dc) * f), grads


@mistake(CH14, "lstm_step_backward", "Eqs. 32-33", BOOK14, "The backward pass",
         "the slope of tanh is missing on the path through h: ∂h/∂c = o ⊙ (1 − tanh²(c))")
def backward_without_tanh_slope(dh, dc, cache):
    return _lstm_backward(dh, dc, cache, h_slope=np.ones_like)


@mistake(CH14, "lstm_step_backward", "Eqs. 32-33", BOOK14, "The backward pass",
         "tanh's slope is taken at the wrong point: 1 − tanh²(c), not 1 − c²")
def backward_tanh_slope_of_c(dh, dc, cache):
    return _lstm_backward(dh, dc, cache, h_slope=tanh_prime)


@mistake(CH14, "lstm_step_backward", "Eq. 38", BOOK14, "The backward pass",
         "the gradient through h(t) does not reach c(t−1): add it to ∂E/∂c before the carousel's factor f")
def backward_h_path_off_carousel(dh, dc, cache):
    return _lstm_backward(dh, dc, cache, h_to_carousel=False)


@mistake(CH14, "lstm_step_backward", "Eq. 38", BOOK14, "The backward pass",
         "the forget gate's gradient uses c(t): f multiplied c(t−1)")
def backward_forget_gate_with_new_state(dh, dc, cache):
    return _lstm_backward(dh, dc, cache, f_input="c")


@mistake(CH14, "lstm_step_backward", "Eq. 29", BOOK14, "The backward pass",
         "g's slope is the sigmoid's: g = tanh(a_g), so its slope is 1 − g²")
def backward_g_sigmoid_slope(dh, dc, cache):
    return _lstm_backward(dh, dc, cache, g_slope=sigmoid_prime)


@mistake(CH14, "lstm_step_backward", "Eqs. 25, 27, 29, 37", BOOK14, "The backward pass",
         "the gates' gradients are stacked as i, f, o, g: torch's order is i, f, g, o")
def backward_order_ifog(dh, dc, cache):
    return _lstm_backward(dh, dc, cache, order=(0, 1, 3, 2))


# ------------------------------------------------------------------ Exercise 16: bidirectional layer
CH16, BOOK16 = "ch16_bidirectional", "book/part4/ch16_bidirectional"


@mistake(CH16, "bidirectional_forward", "Sec. 10.1", BOOK16, "Two chains, one output",
         "the backward chain's outputs are not put back in time order: y(t) pairs both chains at t")
def bi_output_not_reversed(layer_forward, x, state0, params_fwd, params_bwd):
    y, finals, cache = bidirectional_forward(layer_forward, x, state0, params_fwd, params_bwd)
    H = cache[2]
    return np.concatenate([y[:, :, :H], y[::-1, :, H:]], axis=2), finals, cache


@mistake(CH16, "bidirectional_forward", "Sec. 10.1", BOOK16, "Two chains, one output",
         "the backward chain read the sequence forwards: it reads x(T), …, x(1)")
def bi_input_not_reversed(layer_forward, x, state0, params_fwd, params_bwd):
    y, (final_fwd, _), cache = bidirectional_forward(layer_forward, x, state0, params_fwd, params_bwd)
    out_bwd, final_bwd, cache_bwd = layer_forward(x, state0[1], *params_bwd)
    H = cache[2]
    return np.concatenate([y[:, :, :H], out_bwd[::-1]], axis=2), (final_fwd, final_bwd), (cache[0], cache_bwd, H)


@mistake(CH16, "bidirectional_backward", "Sec. 10.1", BOOK16, "The backward pass",
         "the backward chain's ∂E/∂y is not reversed in time like the input it read")
def bi_gradient_not_reversed(layer_backward, d_y, d_final, cache):
    H = cache[2]
    return bidirectional_backward(layer_backward, np.concatenate([d_y[:, :, :H], d_y[::-1, :, H:]], axis=2),
                                  d_final, cache)


@mistake(CH16, "bidirectional_backward", "Sec. 10.1", BOOK16, "The backward pass",
         "the backward chain's ∂E/∂x is not put back in time order before the sum")
def bi_dx_not_reversed(layer_backward, d_y, d_final, cache):
    H = cache[2]
    dx, d_state0, d_params_fwd, d_params_bwd = bidirectional_backward(layer_backward, d_y, d_final, cache)
    dx_fwd = layer_backward(d_y[:, :, :H], d_final[0], cache[0])[0]
    return dx_fwd + (dx - dx_fwd)[::-1], d_state0, d_params_fwd, d_params_bwd


@mistake(CH16, "bidirectional_backward", "Sec. 10.1", BOOK16, "The backward pass",
         "the halves of ∂E/∂y are swapped: the first H features belong to the forward chain")
def bi_halves_swapped(layer_backward, d_y, d_final, cache):
    H = cache[2]
    return bidirectional_backward(layer_backward, np.concatenate([d_y[:, :, H:], d_y[:, :, :H]], axis=2),
                                  d_final, cache)


# ------------------------------------------------------------------ Exercise 18: multidimensional LSTM
CH18, BOOK18 = "ch18_md_lstm", "book/part4/ch18_multidimensional_lstm"
CELL18 = "One cell with $N$ predecessors, Eqs. 53–54"


def _md_net_g(x, h_prev, w_ih, w_hh, b):
    """The cell's net input a_g, the block of rows before the output gate's."""
    a = x @ w_ih.T + np.concatenate(list(h_prev), axis=1) @ w_hh.T + b
    return np.split(a, len(h_prev) + 3, axis=1)[-2]


@mistake(CH18, "md_gates", "Eq. 53", BOOK18, CELL18,
         "the predecessors are concatenated in reverse: the first H columns of W_hh read dimension 1 (h_prev[0])")
def md_gates_predecessors_reversed(x, h_prev, w_ih, w_hh, b):
    return md_gates(x, np.asarray(h_prev)[::-1], w_ih, w_hh, b)


@mistake(CH18, "md_gates", "Eq. 53", BOOK18, CELL18,
         "the dimensions share one forget gate: each dimension d has its own, f_d, from its own rows")
def md_gates_one_forget_gate(x, h_prev, w_ih, w_hh, b):
    i, f, g, o = md_gates(x, h_prev, w_ih, w_hh, b)
    return i, np.broadcast_to(f[:1], f.shape).copy(), g, o


@mistake(CH18, "md_gates", "Eq. 53", BOOK18, CELL18,
         "g is squashed with the sigmoid: the cell input is g = tanh(a_g)")
def md_gates_g_sigmoid(x, h_prev, w_ih, w_hh, b):
    i, f, g, o = md_gates(x, h_prev, w_ih, w_hh, b)
    return i, f, sigmoid(_md_net_g(x, h_prev, w_ih, w_hh, b)), o


@mistake(CH18, "md_step", "Eq. 54, the tutorial's misprint", BOOK18, CELL18,
         "the cell input is not squashed (Eq. 54 as printed): c = Σ_d f_d ⊙ c_d + i ⊙ g, with g = "
         "tanh(a_g)")
def md_step_unsquashed_input(x, h_prev, c_prev, w_ih, w_hh, b):
    i, f, g, o = md_gates(x, h_prev, w_ih, w_hh, b)
    c = np.sum(f * c_prev, axis=0) + i * _md_net_g(x, h_prev, w_ih, w_hh, b)
    return o * np.tanh(c), c


@mistake(CH18, "md_step", "Eq. 54", BOOK18, CELL18,
         "the forget gates scale the wrong memories: f_d scales c_d, the memory from dimension d")
def md_step_forget_gates_swapped(x, h_prev, c_prev, w_ih, w_hh, b):
    return md_step(x, h_prev, np.asarray(c_prev)[::-1], w_ih, w_hh, b)


@mistake(CH18, "md_step", "Eq. 54", BOOK18, CELL18,
         "the cell output uses c instead of its squashed value: h = o ⊙ tanh(c)")
def md_step_output_unsquashed(x, h_prev, c_prev, w_ih, w_hh, b):
    _, c = md_step(x, h_prev, c_prev, w_ih, w_hh, b)
    return md_gates(x, h_prev, w_ih, w_hh, b)[3] * c, c


@mistake(CH18, "md_scan", "Eq. 53", BOOK18, "Scanning the grid: the wavefront",
         "the dimensions are swapped: dimension 1 (h_prev[0]) is the point above, (r − 1, c)")
def md_scan_dimensions_swapped(x, w_ih, w_hh, b):
    h, c = md_scan(np.swapaxes(x, 0, 1), w_ih, w_hh, b)
    return np.swapaxes(h, 0, 1), np.swapaxes(c, 0, 1)


def _grid(x, w_ih, w_hh, b, step=md_step, carry_c=True):
    """The 2-D scan as a loop over `step`, with one part changed (an argument), for the variants below."""
    rows, cols, batch, _ = x.shape
    # One row and one column of zeros before the grid hold the boundary states.
    h, c = (np.zeros((rows + 1, cols + 1, batch, w_hh.shape[1] // 2)) for _ in range(2))
    for r in range(1, rows + 1):
        for k in range(1, cols + 1):
            c_prev = np.stack([c[r - 1, k], c[r, k - 1]]) if carry_c else np.zeros((2,) + c.shape[2:])
            h[r, k], c[r, k] = step(x[r - 1, k - 1], np.stack([h[r - 1, k], h[r, k - 1]]), c_prev, w_ih, w_hh, b)
    return h[1:, 1:], c[1:, 1:]


def _md_step_from_gates(gates):
    """md_step computed from the gate activations that `gates` returns (Eq. 54)."""
    def step(x, h_prev, c_prev, *params):
        i, f, g, o = gates(x, h_prev, *params)
        c = np.sum(f * c_prev, axis=0) + i * g
        return o * np.tanh(c), c
    return step


@mistake(CH18, "md_scan", "Eq. 54", BOOK18, "Scanning the grid: the wavefront",
         "the memories are not carried: each point reads its predecessors' c as well as their h")
def md_scan_c_not_carried(x, w_ih, w_hh, b):
    return _grid(x, w_ih, w_hh, b, carry_c=False)


# ------------------------------------------------------------------ Exercise 20: GRU
CH20, BOOK20 = "ch20_gru", "book/part4/ch20_gru"


def _gru_forward(x_t, h_prev, w_ih, w_hh, b_ih, b_hh, reset_before=False, z_on_candidate=False,
                 bias_outside=False):
    """The GRU step with one part changed (an argument), for the variants below."""
    h_ref, cache = gru_step(x_t, h_prev, w_ih, w_hh, b_ih, b_hh)
    H = h_prev.shape[1]
    r, z = cache["r"], cache["z"]
    a_xn = x_t @ w_ih[2 * H:].T + b_ih[2 * H:]
    hn = cache["hn"] - b_hh[2 * H:] if bias_outside else cache["hn"]
    if reset_before:
        n = np.tanh(a_xn + (r * h_prev) @ w_hh[2 * H:].T + b_hh[2 * H:])
    else:
        n = np.tanh(a_xn + r * hn + (b_hh[2 * H:] if bias_outside else 0.0))
    h = (1.0 - z) * h_prev + z * n if z_on_candidate else z * h_prev + (1.0 - z) * n
    return h, {**cache, "n": n, "hn": hn}


@mistake(CH20, "gru_step", "Eq. 65, the tutorial's reference", BOOK20, "Two placements of the reset gate",
         "the reset gate scaled h_prev before W_hn (Cho et al.'s form): torch resets after it, r ⊙ "
         "(W_hn h_prev + b_hn)")
def gru_reset_before_weights(x_t, h_prev, w_ih, w_hh, b_ih, b_hh):
    return _gru_forward(x_t, h_prev, w_ih, w_hh, b_ih, b_hh, reset_before=True)


@mistake(CH20, "gru_step", "Eq. 66", BOOK20, "The equations",
         "z and 1 − z are swapped: z keeps the old activation, h = z ⊙ h_prev + (1 − z) ⊙ n")
def gru_update_gate_swapped(x_t, h_prev, w_ih, w_hh, b_ih, b_hh):
    return _gru_forward(x_t, h_prev, w_ih, w_hh, b_ih, b_hh, z_on_candidate=True)


@mistake(CH20, "gru_step", "Eq. 65", BOOK20, "The equations",
         "b_hn is outside the reset gate: torch computes r ⊙ (W_hn h_prev + b_hn)")
def gru_bias_outside_reset(x_t, h_prev, w_ih, w_hh, b_ih, b_hh):
    return _gru_forward(x_t, h_prev, w_ih, w_hh, b_ih, b_hh, bias_outside=True)


@mistake(CH20, "gru_step", "Eqs. 57-64", BOOK20, "The equations",
         "r and z are read from each other's rows: torch's order is r, z, n")
def gru_order_zrn(x_t, h_prev, w_ih, w_hh, b_ih, b_hh):
    h, cache = gru_step(x_t, h_prev, *(blocks(w, [1, 0, 2], 3) for w in (w_ih, w_hh, b_ih, b_hh)))
    return h, {**cache, "w_ih": w_ih, "w_hh": w_hh}


def _gru_backward(dh, cache, z_sign=1.0, r_on_hn=True, direct=True):
    """The GRU backward step with one part changed (an argument), for the variants below."""
    r, z, n, hn, h_prev = (cache[k] for k in ("r", "z", "n", "hn", "h_prev"))
    da_n = dh * (1.0 - z) * tanh_prime(n)
    da_z = z_sign * dh * (h_prev - n) * sigmoid_prime(z)
    da_r = da_n * hn * sigmoid_prime(r)
    da_x = np.concatenate([da_r, da_z, da_n], axis=1)
    da_h = np.concatenate([da_r, da_z, da_n * r if r_on_hn else da_n], axis=1)
    grads = {"w_ih": da_x.T @ cache["x"], "w_hh": da_h.T @ h_prev, "b_ih": da_x.sum(axis=0),
             "b_hh": da_h.sum(axis=0)}
    return da_x @ cache["w_ih"], dh * z * direct + da_h @ cache["w_hh"], grads


@mistake(CH20, "gru_step_backward", "Eq. 66", BOOK20, "One step in code, and the checks",
         "the update gate's gradient has the wrong sign: ∂h/∂z = h_prev − n")
def grub_update_sign(dh, cache):
    return _gru_backward(dh, cache, z_sign=-1.0)


@mistake(CH20, "gru_step_backward", "Eq. 65", BOOK20, "One step in code, and the checks",
         "the recurrent part of the candidate was scaled by r: its gradient is ā_n ⊙ r")
def grub_hn_without_reset(dh, cache):
    return _gru_backward(dh, cache, r_on_hn=False)


@mistake(CH20, "gru_step_backward", "Eq. 66", BOOK20, "One step in code, and the checks",
         "∂E/∂h_prev lacks the direct path: h_prev reaches h through z ⊙ h_prev as well")
def grub_without_direct_path(dh, cache):
    return _gru_backward(dh, cache, direct=False)


# ------------------------------------------------------------------ running the variants


@contextlib.contextmanager
def substituted(original, variant):
    """Let every lstmlab.numpy module that refers to `original` call `variant` instead.

    So a mistake in one function reaches the reference implementations that use it, as a
    student's mistake reaches the student's own functions that call the wrong one.
    """
    patched = [(module, name) for module_name, module in list(sys.modules.items())
               if module_name.startswith("lstmlab.numpy") and module is not None
               for name, value in vars(module).items() if value is original]
    for module, name in patched:
        setattr(module, name, variant)
    try:
        yield
    finally:
        for module, name in patched:
            setattr(module, name, original)


# Where lstmlab's reference does not call the function a student's solution calls (the notebook asks
# lstm_step to use lstm_gates, lstm_layer to use lstm_step...), a mistake in the callee reaches the
# caller through these: {caller: (callee, the caller made from a given callee)}.
COMPOSED = {
    CH12: {"lstm_step": ("lstm_gates", _step_from_gates), "lstm_layer": ("lstm_step", _layer_from_step)},
    CH18: {"md_step": ("md_gates", _md_step_from_gates),
           "md_scan": ("md_step", lambda step: lambda x, *params: _grid(x, *params, step=step))},
}


def variant_outputs(assignment, reference_values, run, originals, close):
    """{case key: {mistake name: encoded output}} for every case whose output a mistake changes.

    `run(overrides)` runs the assignment's test cases with the notebook functions in `overrides`
    replaced and returns the encoded values by key; `originals` maps a function's notebook name to
    its lstmlab implementation; `close(reference, value)` says whether a value matches a reference.
    """
    found = {}
    for m in CATALOGUE.get(assignment, []):
        overrides = {m.function: m.variant}
        for caller, (callee, made_from) in COMPOSED.get(assignment, {}).items():
            if callee in overrides:
                overrides[caller] = made_from(overrides[callee])
        with substituted(originals[m.function], m.variant):
            values = run(overrides)
        for key, value in values.items():
            if not close(reference_values[key], value):
                found.setdefault(key, {})[m.name] = value["value"]
    return found


def messages(assignment):
    """{mistake name: feedback} of one assignment's mistakes."""
    return {m.name: m.feedback() for m in CATALOGUE.get(assignment, [])}


def table():
    """The catalogue as a Markdown table, one row per mistake."""
    rows = ["| Exercise | Function | Mistake (what the student is told) | Equation | Book section |",
            "|---|---|---|---|---|"]
    for assignment in sorted(CATALOGUE):
        for m in CATALOGUE[assignment]:
            rows.append(f"| {assignment} | `{m.function}` | {m.message} | {m.equation} | "
                        f"[{m.section.replace('$', '')}]({m.link}) |")
    return "\n".join(rows) + "\n"


def readme_with_table(text):
    """README text with the table between its markers replaced by the current catalogue."""
    start, end = text.index(TABLE_START) + len(TABLE_START), text.index(TABLE_END)
    return text[:start] + "\n" + table() + text[end:]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="update the table in README.md")
    args = parser.parse_args(argv)
    if args.write:
        README.write_text(readme_with_table(README.read_text()))
    else:
        print(table(), end="")


if __name__ == "__main__":
    main()
