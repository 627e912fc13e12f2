"""The equation index cannot go stale: every numbered equation of the tutorial has a row, every function
and test a row names exists, every corrected row has its evidence test; and the appendix renders."""

import re
from html import escape
from pathlib import Path

import pytest

from tools import equations

TUTORIAL = Path("/work/shared/reference/staudemeyer-morris-2019-understanding-lstm.md")


def test_the_index_is_complete_and_every_name_in_it_exists():
    found = equations.problems(tutorial=TUTORIAL if TUTORIAL.exists() else None)
    assert not found, "\n".join(found)


def test_rows_cover_the_tutorials_numbering_in_order():
    rows = equations.load()["equation"]
    assert [row["number"] for row in rows] == list(range(1, 67))


@pytest.mark.skipif(not TUTORIAL.exists(), reason="the tutorial's text is not on this machine")
def test_the_tutorials_numbers_are_read_from_its_text():
    assert equations.tutorial_numbers(TUTORIAL.read_text(encoding="utf-8")) == list(range(1, 67))


def test_annotations_are_parsed_from_docstrings_and_markers(tmp_path):
    (tmp_path / "lstmlab").mkdir()
    (tmp_path / "tests").mkdir()
    (tmp_path / "lstmlab" / "m.py").write_text(
        'class A:\n    def f(self):\n        """One step.\n\n        Implements: Eqs. 3-5, 9.\n        """\n'
        'def g():\n    """Mentions Eq. 7 in passing, which is no annotation."""\n')
    (tmp_path / "tests" / "test_m.py").write_text(
        'import pytest\n@pytest.mark.equation(4, "8-9", check="closed form")\n@pytest.mark.parametrize("a", [1])\n'
        'def test_a(a):\n    pass\ndef test_b():\n    pass\n')
    code = equations.code_sites(tmp_path)
    assert sorted(code) == [3, 4, 5, 9] and code[4][0].name == "A.f" and code[4][0].line == 2
    marked, every = equations.tested_sites(tmp_path)
    assert sorted(marked) == [4, 8, 9] and marked[8][0].node_id == "tests/test_m.py::test_a"
    assert marked[8][0].check == "closed form"
    assert set(every) == {"tests/test_m.py::test_a", "tests/test_m.py::test_b"}


def test_a_stale_index_is_reported(tmp_path, monkeypatch):
    data = equations.load()
    row = next(r for r in data["equation"] if r["status"] == "corrected")
    real_problems = equations.problems

    def broken(mutate):
        changed = {k: [dict(r) for r in v] for k, v in data.items()}
        mutate(changed)
        monkeypatch.setattr(equations, "load", lambda root=equations.ROOT: changed)
        try:
            return "\n".join(real_problems())
        finally:
            monkeypatch.undo()

    assert "Eq. 12 has no row" in broken(lambda d: d["equation"].pop(11))
    n = row["number"]
    renamed = broken(lambda d: d["equation"][n - 1].update(evidence=["tests/test_errata.py::test_gone"]))
    assert "test tests/test_errata.py::test_gone does not exist" in renamed
    assert f"Eq. {n} is corrected but names no evidence test" in broken(
        lambda d: d["equation"][n - 1].pop("evidence"))
    assert "no erratum box is named erratum-nowhere" in broken(
        lambda d: d["equation"][n - 1].update(errata=["erratum-nowhere"]))
    gone = "g_squash" + "_renamed"  # spelt in two parts, so that this file does not define the name
    assert f"no source file under lstmlab/ or tests/ has {gone}" in broken(
        lambda d: d["equation"][30].update(note=f"see `{gone}`"))
    assert "Eq. 1 is 'not implemented' but sigmoid says it implements it" in broken(
        lambda d: d["equation"][0].update(status="not implemented", reason="left out"))
    assert "Eq. 36: checked against unknown source 'nowhere2001'" in broken(
        lambda d: d["equation"][35].update(checked=[{"source": "nowhere2001", "at": "Eq. 1"}]))
    assert "Eq. 56: checked against kalchbrenner2015, which the sweep did not find" in broken(
        lambda d: d["equation"][55].update(checked=[{"source": "kalchbrenner2015", "at": "Sec. 3"}]))
    assert "source gers2002 was found but does not say what the checks were made against (via)" in broken(
        lambda d: d["source"][2].pop("via"))
    assert "Eq. 38: a check against gers2002 does not say where" in broken(
        lambda d: d["equation"][37].update(checked=[{"source": "gers2002", "at": ""}]))


def test_tables_render_every_row_with_links(tmp_path):
    html = equations.tables()
    equations.write_source_pages(out=tmp_path)
    for table in html.values():
        for target in re.findall(r'href="(?:\.\./)+_static/source/([^"#]+)#L-\d+"', table):
            assert (tmp_path / target).exists(), target
    for n in range(1, 67):
        assert f'id="eq-{n}"' in html["numbered"]
    assert html["numbered"].count("_static/source/lstmlab/") >= 66
    assert "_static/source/tests/test_errata.py.html#L-" in html["numbered"]
    assert html["summary"].count("<li>") == len(equations.errata())
    assert "Table 10" in html["papers"]



def test_the_sweep_says_what_it_read_and_which_rows_it_covers():
    data = equations.load()
    html = equations.tables()
    checked = [row["number"] for row in data["equation"] if row.get("checked")]
    assert f"<b>{len(checked)}</b> of the 66 numbered equations were checked" in html["summary"]
    assert html["numbered"].count("checked against") == sum(len(row.get("checked", [])) for row in data["equation"])
    # Every paper the tutorial's later sections come from is listed, found or not, with what was read.
    for source in data["source"]:
        assert escape(source["short"]) in html["sources"]
    assert "not found" in html["sources"] and "felixgers.de" in html["sources"]
    assert equations._ranges([1, 2, 3, 5, 7, 8]) == "1-3, 5, 7-8"
