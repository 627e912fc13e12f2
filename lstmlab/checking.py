"""Checks for the exercise notebooks: compare a student's output with its stored reference.

While a notebook is graded, this is the only module of lstmlab the student's kernel holds (the
sandbox preloads it and can read nothing else of the package). Nothing here decides a grade: a
test cell's `check` records the raw output, and the grader compares the records with references
the kernel cannot see. Inside the kernel, `check` only gives the student fast, specific feedback
against the visible references released with the notebook.
"""

import json
import math
import os
import zlib

import numpy as np

MIME = "application/vnd.lstmlab.record+json"
REFERENCES = "references.json"

# The reference generator replaces this with a callable that collects records in-process.
sink = None
# The per-student seed of the hidden cases: the grader hands it to the student's kernel in
# LSTMLAB_HIDDEN_SEED, and the reference generator sets it directly; None outside grading.
hidden_base = int(os.environ["LSTMLAB_HIDDEN_SEED"], 16) if os.environ.get("LSTMLAB_HIDDEN_SEED") else None


def encode(value):
    """A JSON form of a number, an array, or a tuple / list / dict of them (float64 values)."""
    if isinstance(value, dict):
        return {"fields": {str(k): encode(v) for k, v in sorted(value.items())}}
    if isinstance(value, (tuple, list)) and not _is_numeric_sequence(value):
        return {"items": [encode(v) for v in value]}
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(
            f"expected a number, an array or a tuple of them, got {type(value).__name__}"
        ) from None
    return {"shape": list(array.shape), "data": [_json_float(x) for x in array.reshape(-1).tolist()]}


def _is_numeric_sequence(value):
    return all(isinstance(v, (int, float, np.number)) for v in value)


def _json_float(x):
    # JSON has no NaN or infinity; keep them as strings so that they survive the round trip.
    return x if math.isfinite(x) else repr(x)


def _describe(enc):
    if "items" in enc:
        return f"a sequence of {len(enc['items'])} outputs"
    if "fields" in enc:
        return f"a dict with keys {sorted(enc['fields'])}"
    return "a number" if enc["shape"] == [] else f"an array of shape {tuple(enc['shape'])}"


def compare(expected, got, rtol, atol, where="output"):
    """None if the encoded `got` matches `expected` within tolerance, else a message saying where not."""
    if not isinstance(got, dict):
        return f"{where}: the record is malformed"
    if "items" in expected:
        items = got.get("items")
        if not isinstance(items, list) or len(items) != len(expected["items"]):
            return f"{where}: expected {_describe(expected)}, got {_describe_safely(got)}"
        for i, (e, g) in enumerate(zip(expected["items"], items)):
            problem = compare(e, g, rtol, atol, f"{where}[{i}]")
            if problem:
                return problem
        return None
    if "fields" in expected:
        fields = got.get("fields")
        if not isinstance(fields, dict) or sorted(fields) != sorted(expected["fields"]):
            return f"{where}: expected {_describe(expected)}, got {_describe_safely(got)}"
        for k in sorted(expected["fields"]):
            problem = compare(expected["fields"][k], fields[k], rtol, atol, f"{where}[{k!r}]")
            if problem:
                return problem
        return None
    got_array = _decode_array(got)
    if got_array is None:
        return f"{where}: expected {_describe(expected)}, got {_describe_safely(got)}"
    want = _decode_array(expected)
    if got_array.shape != want.shape:
        return f"{where}: expected shape {want.shape}, got shape {got_array.shape}"
    close = np.isclose(got_array, want, rtol=rtol, atol=atol, equal_nan=False)
    if close.all():
        return None
    bad = np.argwhere(~close)
    index = tuple(int(i) for i in bad[0])
    at = f" at index {list(index)}" if index else ""
    count = f" ({len(bad)} of {want.size} elements differ)" if want.size > 1 else ""
    return f"{where}{at}: expected {float(want[index])!r}, got {float(got_array[index])!r}{count}"


def _describe_safely(enc):
    try:
        return _describe(enc)
    except (KeyError, TypeError):
        return "something malformed"


def _decode_array(enc):
    """The float64 array of an encoded array, or None when the encoding is malformed."""
    shape, data = enc.get("shape"), enc.get("data")
    if not (isinstance(shape, list) and all(type(n) is int and n >= 0 for n in shape)):
        return None
    if not isinstance(data, list) or len(data) != math.prod(shape):
        return None
    values = []
    for x in data:
        if type(x) in (int, float):
            values.append(float(x))
        elif x in ("nan", "inf", "-inf"):
            values.append(float(x))
        else:
            return None
    return np.array(values, dtype=np.float64).reshape(shape)


def _visible_references():
    if not os.path.exists(REFERENCES):
        return {}
    with open(REFERENCES) as f:
        return json.load(f)["values"]


def hidden_seed(case):
    """The seed of hidden case `case` (a small int label) for the student being graded."""
    if hidden_base is None:
        raise RuntimeError("hidden test cases run only under the grader (no per-student seed is set)")
    sequence = np.random.SeedSequence([hidden_base, zlib.crc32(str(case).encode())])
    return int(sequence.generate_state(1, np.uint32)[0] >> 1)


def check(key, value, hint=None, rtol=1e-7, atol=1e-10):
    """Record `value` as the output for test case `key`, and compare it with the visible reference."""
    record = {"key": key, "value": encode(value), "rtol": rtol, "atol": atol}
    if sink is not None:
        sink(record)
        return
    _emit(record)
    reference = _visible_references().get(key)
    if reference is None:
        return  # a hidden case: only the grader knows its answer
    problem = compare(reference["value"], record["value"], reference["rtol"], reference["atol"], key)
    if problem:
        raise AssertionError(problem + (f"\nHint: {hint}" if hint else ""))
    print(f"ok  {key}")


def _emit(record):
    try:
        from IPython.display import display
    except ImportError:
        return
    display({MIME: record}, raw=True)
