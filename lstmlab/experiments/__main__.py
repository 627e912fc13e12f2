"""Command line: ``python -m lstmlab.experiments NAME [--trials N] [--reduced] [--seed S] [--out FILE]
[--set SETTING=VALUE ...]``."""

import argparse
import json
import signal
import sys

from lstmlab.experiments import NAMES, run, runner


def setting(text):
    """``NAME=VALUE`` with VALUE in JSON -> (NAME, value)."""
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected SETTING=VALUE, got {text!r}")
    try:
        return name, json.loads(value)
    except json.JSONDecodeError:
        raise argparse.ArgumentTypeError(f"the value of {name} must be JSON (true, 0.5, [1, 2]), "
                                         f"got {value!r}") from None


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="python -m lstmlab.experiments",
                                     description="Run one of the course's experiments (Parts III and IV).")
    parser.add_argument("name", choices=NAMES)
    parser.add_argument("--trials", type=int, help="number of networks trained at once")
    parser.add_argument("--reduced", action="store_true", help="the short version the book runs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-sequences", type=int, dest="max_sequences",
                        help="stop unsolved networks after this many training sequences")
    parser.add_argument("--max-seconds", type=float, dest="max_seconds",
                        help="stop training after this much wall time (experiments that support it)")
    parser.add_argument("--set", action="append", default=[], metavar="SETTING=VALUE", type=setting,
                        help="any other setting of the experiment, VALUE in JSON (e.g. unit_biases=false)")
    parser.add_argument("--out", help="JSON file for the result (default: print it)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    # a run stopped from outside (kill, Ctrl-C) ends its loop and is recorded as "interrupted"
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    result = run(args.name, reduced=args.reduced, seed=args.seed, quiet=args.quiet, out=args.out,
                 argv=["python", "-m", "lstmlab.experiments", *argv],
                 trials=args.trials, max_sequences=args.max_sequences,
                 max_seconds=args.max_seconds, **dict(args.set))
    if args.out:
        runner.write(result, args.out)
    else:
        print(json.dumps(result, indent=1, default=runner._jsonable))
    return result


if __name__ == "__main__":
    main()
