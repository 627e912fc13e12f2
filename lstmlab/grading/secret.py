"""The instructor's grading secret, and the per-student seeds of the hidden cases derived from it.

`python -m lstmlab.grading.secret init` creates the secret once (32 random bytes, in
`$XDG_CONFIG_HOME/lstmlab/grading-secret`, by default `~/.config/...`, readable by the instructor only);
the environment variable LSTMLAB_GRADING_SECRET, where set, takes its place (e.g. on grading machines).
A student's seed is HMAC-SHA256(secret, [assignment, student id]): without the secret nobody can tell
any student's hidden inputs, and knowing one's own seed tells nothing about another's.
The secret never enters a student's kernel: the grader hands the kernel only that student's seed.
"""

import argparse
import hashlib
import hmac
import json
import os
import secrets
import sys
from pathlib import Path

from lstmlab.grading.errors import InstructorError

ENV = "LSTMLAB_GRADING_SECRET"
INIT = "python -m lstmlab.grading.secret init"
# Where the course remembers which secret it was graded with (a fingerprint, not the secret).
COURSE_RECORD = ".lstmlab-grading.json"


def default_path():
    config = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(config) / "lstmlab" / "grading-secret"


def parse(text, where):
    text = text.strip()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) < 16:
        raise InstructorError(f"the grading secret in {where} is malformed (expected at least 32 hexadecimal "
                              f"characters); create one with `{INIT}`")
    return key


def load():
    """The secret as bytes: from LSTMLAB_GRADING_SECRET, else from the instructor's config folder."""
    if os.environ.get(ENV):
        return parse(os.environ[ENV], f"${ENV}")
    path = default_path()
    try:
        return parse(path.read_text(), path)
    except FileNotFoundError:
        raise InstructorError(f"no grading secret: the hidden cases cannot be made; create one once with `{INIT}` "
                              f"(it is kept in {path}) or set {ENV}") from None


def init(force=False):
    """Create the secret file; an existing secret is kept unless `force` (a new one changes every hidden case)."""
    path = default_path()
    if path.exists() and not force:
        raise InstructorError(f"a grading secret exists already in {path}; keep it (regrading with another secret "
                              f"changes every student's hidden cases), or replace it with `{INIT} --force`")
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_hex(32) + "\n")
    return path


def student_seed(key, assignment, student):
    """The 128-bit seed of one student's hidden cases in one assignment."""
    message = json.dumps([assignment, student], ensure_ascii=False).encode()
    return int.from_bytes(hmac.new(key, message, hashlib.sha256).digest()[:16], "big")


def fingerprint(key):
    """A short public name of the secret: tells two secrets apart and reveals nothing of either."""
    return hmac.new(key, b"lstmlab grading secret fingerprint", hashlib.sha256).hexdigest()[:16]


def check_course(root, key):
    """Refuse a secret other than the one this course was graded with before (the first grading records it)."""
    record = Path(root) / COURSE_RECORD
    mine = fingerprint(key)
    try:
        known = json.loads(record.read_text())["secret_fingerprint"]
    except FileNotFoundError:
        record.write_text(json.dumps({"secret_fingerprint": mine}) + "\n")
        return
    except (ValueError, KeyError, TypeError):
        raise InstructorError(f"{record} is corrupt; delete it to accept the current secret") from None
    if known != mine:
        raise InstructorError(f"wrong grading secret: this course was graded with the secret whose fingerprint is "
                              f"{known}, the one found now ({ENV} or {default_path()}) is {mine}. Use the first "
                              f"secret again, or delete {record} to regrade everyone with the new one")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    init_parser = commands.add_parser("init", help="create the secret once")
    init_parser.add_argument("--force", action="store_true", help="replace an existing secret")
    commands.add_parser("fingerprint", help="print the secret's public fingerprint")
    seed = commands.add_parser("seed", help="print one student's hidden-case seed (to reproduce a grade)")
    seed.add_argument("assignment")
    seed.add_argument("student")
    args = parser.parse_args(argv)
    try:
        if args.command == "init":
            print(f"created {init(args.force)}; keep it private and back it up")
        elif args.command == "fingerprint":
            print(fingerprint(load()))
        else:
            print(f"{student_seed(load(), args.assignment, args.student):032x}")
    except InstructorError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
