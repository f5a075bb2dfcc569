# SPDX-License-Identifier: MIT
"""What the black-box test scripts (tests/programs, tests/studio) share: the exit codes CTest
reads, the checks, running a program, a fresh work folder per case, and the tiny model settings.

A script defines functions case_NAME and calls main_for(globals(), parser); CTest runs it once
per case. Exit status: 0 passed, 1 failed (with a message), 77 skipped (SKIP_RETURN_CODE), 2 an
unknown case.
"""
import os
import shutil
import subprocess
import sys

# A model that trains in seconds. --min-count 1 keeps every token, so saved primers are always in
# the vocabulary.
TINY = ["--hidden", "16", "--embedding", "8", "--layers", "1", "--seq-len", "16",
        "--batch", "4", "--epochs", "2", "--threads", "1", "--quiet", "--min-count", "1"]


class Failure(Exception):
    pass


class Skip(Exception):
    pass


def check(cond, message):
    if not cond:
        raise Failure(message)


def run(cmd, timeout=120, **kw):
    """Runs cmd and returns its CompletedProcess, with text output."""
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True,
                          errors="replace", timeout=timeout, **kw)


def fresh_dir(root, name):
    """An empty folder root/name (whatever a previous run left there is removed)."""
    d = os.path.join(root, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    return d


def main_for(script_globals, parser, prepare=None):
    """Parses the command line (its first argument is the case), makes --work absolute, stores
    the arguments in the script's ARGS, calls prepare(args) (which may raise Skip) and runs
    case_<case>. Returns the exit status."""
    args = parser.parse_args()
    args.work = os.path.abspath(args.work)
    script_globals["ARGS"] = args
    fn = script_globals.get("case_" + args.case)
    if fn is None:
        print(f"unknown case {args.case}", file=sys.stderr)
        return 2
    try:
        if prepare:
            prepare(args)
        os.makedirs(args.work, exist_ok=True)
        fn()
    except Skip as e:
        print(f"SKIPPED ({args.case}): {e}")
        return 77
    except Failure as e:
        print(f"FAIL ({args.case}): {e}", file=sys.stderr)
        return 1
    print(f"ok: {args.case}")
    return 0
