"""Regenerate the student release: `python -m lstmlab.grading.release [ASSIGNMENT ...]` (`make release`).

For each assignment in solutions/, first the reference outputs (from lstmlab), then the student
notebook in exercises/ (nbgrader generate_assignment: solutions and hidden tests stripped).
"""

import argparse

from lstmlab.grading import references
from lstmlab.grading.autograde import load_api, reason


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignments", nargs="*", help="default: every assignment in solutions/")
    args = parser.parse_args(argv)
    names = args.assignments or references.assignments()
    references.main(names)
    api = load_api()
    for name in names:
        result = api.generate_assignment(name, force=True)
        if not result["success"]:
            raise SystemExit(f"{name}: {reason((result.get('log') or '') + (result.get('error') or ''))}")
        print(f"{name}: released to {api.coursedir.release_directory}/{name}")


if __name__ == "__main__":
    main()
