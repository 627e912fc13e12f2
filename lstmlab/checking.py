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


def diagnose(reference, got, variants, catalogue):
    """What a wrong output tells: the catalogued mistakes whose output it equals, else which part is right.

    `variants` maps mistake ids to the encoded output each mistake gives on this case's inputs;
    `catalogue` maps mistake ids to their messages.
    """
    rtol, atol = reference["rtol"], reference["atol"]
    named = [catalogue[m] for m, value in sorted(variants.items())
             if m in catalogue and compare(value, got, rtol, atol) is None]
    if named:
        return "Likely mistake: " + "\nOr: ".join(named)
    right = _what_is_right(reference["value"], got, rtol, atol)
    return f"Not a known mistake, but {right}." if right else None


def _parts(enc):
    """The named parts of an encoded sequence or dict, None for anything else."""
    if isinstance(enc, dict) and isinstance(enc.get("items"), list):
        return dict(enumerate(enc["items"]))
    if isinstance(enc, dict) and isinstance(enc.get("fields"), dict):
        return enc["fields"]
    return None


def _what_is_right(expected, got, rtol, atol, where="the output"):
    """A phrase saying which part of a wrong output is right, to narrow the search; None if nothing is."""
    want_parts, got_parts = _parts(expected), _parts(got)
    if want_parts is not None:
        if got_parts is None or sorted(map(str, got_parts)) != sorted(map(str, want_parts)):
            return None
        wrong = [n for n in want_parts if compare(want_parts[n], got_parts[n], rtol, atol) is not None]
        right = [f"{where}[{n!r}]" for n in want_parts if n not in wrong]
        clues = [f"{', '.join(right)} {'is' if len(right) == 1 else 'are'} right"] if right else []
        if wrong:
            inner = _what_is_right(want_parts[wrong[0]], got_parts[wrong[0]], rtol, atol, f"{where}[{wrong[0]!r}]")
            clues += [inner] if inner else []
        return "; ".join(clues) or None
    want, have = _decode_array(expected), _decode_array(got) if isinstance(got, dict) else None
    if have is None:
        return None
    if want.shape != have.shape:
        if want.ndim == 2 and have.shape == want.T.shape and np.allclose(have, want.T, rtol=rtol, atol=atol):
            return f"{where} is the transpose of what is expected"
        return None
    return _array_clues(want, have, rtol, atol, where)


def _array_clues(want, have, rtol, atol, where):
    close = np.isclose(have, want, rtol=rtol, atol=atol)
    clues = [f"the shape {want.shape} of {where} is right"] if want.ndim else []
    if want.ndim > 1 and want.shape[0] > 1 and close[0].all():
        later = next(t for t in range(want.shape[0]) if not close[t].all())
        clues.append(f"{where}[{0 if later == 1 else f'0:{later}'}] is right but [{later}] is not (for a sequence: "
                     "the first time step is right, so look at what is carried from one step to the next)")
    big = np.abs(want) > atol
    if np.isfinite(have).all() and big.any():
        ratio = have[big] / want[big]
        same_sign = np.sign(have[big]) == np.sign(want[big])
        if np.allclose(ratio, ratio[0], rtol=1e-6) and np.allclose(have[~big], 0.0, atol=atol):
            clues.append("every element has the opposite sign: look for a flipped sign" if np.isclose(ratio[0], -1)
                         else f"it is {ratio[0]:.6g} times the expected output everywhere: a missing or extra factor")
        elif same_sign.all():
            clues.append("every sign is right, only the sizes are not")
        elif not same_sign.any():
            clues.append("every element has the opposite sign, and the sizes are off too")
        else:
            clues.append(f"{int(close.sum())} of {want.size} elements are right")
    return "; ".join(clues) or None


def _visible_references():
    if not os.path.exists(REFERENCES):
        return {}
    with open(REFERENCES) as f:
        return json.load(f)


def hidden_seed(case):
    """The seed of hidden case `case` (a small int label) for the student being graded."""
    if hidden_base is None:
        raise RuntimeError("hidden test cases run only under the grader (no per-student seed is set)")
    sequence = np.random.SeedSequence([hidden_base, zlib.crc32(str(case).encode())])
    return int(sequence.generate_state(1, np.uint32)[0] >> 1)


def hidden_sizes(case, **ranges):
    """The sizes of hidden case `case` for the student being graded, one per named (low, high) range
    (both included), in the order given: students differ in the shapes of their hidden inputs as well
    as in the values, e.g. `B, T = hidden_sizes(41, B=(1, 5), T=(2, 8))`."""
    rng = np.random.default_rng(hidden_seed(f"{case}.sizes"))
    return tuple(int(rng.integers(low, high + 1)) for low, high in ranges.values())


def check(key, value, hint=None, rtol=1e-7, atol=1e-10):
    """Record `value` as the output for test case `key`, and compare it with the visible reference."""
    record = {"key": key, "value": encode(value), "rtol": rtol, "atol": atol}
    if sink is not None:
        sink(record)
        return
    _emit(record)
    references = _visible_references()
    reference = references.get("values", {}).get(key)
    if reference is None:
        return  # a hidden case: only the grader knows its answer
    problem = compare(reference["value"], record["value"], reference["rtol"], reference["atol"], key)
    if problem:
        diagnosis = diagnose(reference, record["value"], references.get("mistakes", {}).get(key, {}),
                             references.get("catalogue", {}))
        raise AssertionError("\n".join([problem] + [diagnosis] * bool(diagnosis) + [f"Hint: {hint}"] * bool(hint)))
    print(f"ok  {key}")


def _emit(record):
    try:
        from IPython.display import display
    except ImportError:
        return
    display({MIME: record}, raw=True)
