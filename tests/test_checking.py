"""The student-side checks: encoding of outputs and the messages a student reads."""

import json

import numpy as np
import pytest

from lstmlab import checking


def enc(value):
    return checking.encode(value)


def test_encoding_round_trips_float64_exactly():
    x = np.random.default_rng(0).normal(size=(3, 4))
    decoded = checking._decode_array(json.loads(json.dumps(enc(x))))
    assert decoded.dtype == np.float64 and np.array_equal(decoded, x)


def test_nested_outputs_and_non_finite_values_survive_json():
    value = (np.array([1.0, np.nan]), {"b": 2.0, "a": [np.inf, -np.inf]})
    encoded = json.loads(json.dumps(enc(value)))
    assert encoded["items"][0]["data"][1] == "nan"
    assert checking.compare(enc(value), encoded, 0, 0) is not None  # NaN never equals NaN
    finite = (np.array([1.0, 3.0]), {"b": 2.0, "a": [5.0, 6.0]})
    assert checking.compare(enc(finite), json.loads(json.dumps(enc(finite))), 0, 0) is None


def test_message_names_the_element_expected_and_got():
    message = checking.compare(enc(np.array([[1.0, 2.0], [3.0, 4.0]])),
                               enc(np.array([[1.0, 2.0], [3.0, -4.0]])), 1e-7, 0, "y")
    assert message == "y at index [1, 1]: expected 4.0, got -4.0 (1 of 4 elements differ)"


def test_message_counts_the_wrong_elements():
    message = checking.compare(enc(np.zeros(5)), enc(np.array([0.0, 1, 1, 0, 1])), 1e-7, 0, "y")
    assert message.startswith("y at index [1]: expected 0.0, got 1.0") and "(3 of 5 elements differ)" in message


def test_message_names_expected_and_actual_shape():
    message = checking.compare(enc(np.zeros((2, 3))), enc(np.zeros((3, 2))), 1e-7, 0, "W")
    assert message == "W: expected shape (2, 3), got shape (3, 2)"


def test_message_for_a_wrong_kind_of_output():
    message = checking.compare(enc((np.zeros(2), np.zeros(2))), enc(np.zeros(2)), 1e-7, 0, "out")
    assert message == "out: expected a sequence of 2 outputs, got an array of shape (2,)"


def test_tolerances_are_applied():
    assert checking.compare(enc(1.0), enc(1.0 + 1e-9), 1e-7, 0) is None
    assert checking.compare(enc(1.0), enc(1.0 + 1e-5), 1e-7, 0) is not None


@pytest.mark.parametrize("record", [
    {"shape": [2], "data": [1.0]},            # too little data
    {"shape": [1], "data": [True]},           # not a number
    {"shape": [-1], "data": []},              # nonsense shape
    {"shape": [1], "data": ["1.0"]},          # a number smuggled in a string
    {"items": "everything"},
    "anything",
])
def test_malformed_records_never_match(record):
    assert checking.compare(enc([1.0]), record, 1e-7, 0) is not None


def test_objects_that_are_not_numbers_are_refused():
    with pytest.raises(TypeError, match="expected a number, an array or a tuple of them, got object"):
        checking.encode(object())


def test_check_raises_with_the_hint_for_a_visible_case(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    reference = {"value": enc(np.array([1.0, -1.0])), "rtol": 1e-7, "atol": 1e-10}
    (tmp_path / checking.REFERENCES).write_text(json.dumps({"values": {"and.y": reference}}))
    checking.check("and.y", np.array([1.0, -1.0]))
    with pytest.raises(AssertionError, match=r"and.y at index \[1\]: expected -1.0, got 1.0 \(1 of 2 elements differ\)\n"
                       r"Not a known mistake, but the shape \(2,\) of the output is right; 1 of 2 elements are right\.\n"
                       r"Hint: the sign"):
        checking.check("and.y", np.array([1.0, 1.0]), hint="the sign")
    checking.check("hidden.case", np.zeros(3))  # unknown to the student: recorded, never judged here
