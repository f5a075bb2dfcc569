#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Black-box tests of lstmidi-train, lstmidi-generate, lstmidi-eval, lstmidi-first and
lstmidi-planted-bug (Python 3 standard library only).

    program_tests.py CASE --train BIN --generate BIN --eval BIN --dump BIN --data DIR --work DIR
                          [--first BIN --planted BIN]

CASE is one of the functions named case_* below (without the prefix). Every case works in its
own folder under --work, uses tiny settings so it takes seconds, and exits 0 on success, 1 with
a message on failure, or 77 when it has to be skipped (CTest SKIP_RETURN_CODE).

What "a clean error" means here: a non-zero exit status below 128 (not killed by a signal), no
"terminate called", no sanitizer or assertion report, and exactly one line on stderr that says
"<program>: error: ..." (warning lines about skipped input files may come before it).
"""
import argparse
import math
import os
import random
import re
import resource
import shutil
import signal
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
from cases import TINY, Failure, Skip, check, fresh_dir, main_for, run  # noqa: E402

ARGS = None
# TINY keeps every token (--min-count 1); the default min-count is covered by
# case_default_primer.
# ctest sets ASAN_OPTIONS for the sanitizer build's program tests (tests/programs/CMakeLists.txt).
UNDER_ASAN = "ASAN_OPTIONS" in os.environ
CRASH_MARKERS = ("terminate called", "AddressSanitizer", "LeakSanitizer", "runtime error:",
                 "Assertion", "Segmentation fault", "core dumped", "stack trace", "what():",
                 "libsmf-CRITICAL", "Aborted")


def describe(p):
    return (f"exit {p.returncode}\n--- stdout ---\n{p.stdout[-3000:]}\n"
            f"--- stderr ---\n{p.stderr[-3000:]}")


def no_crash(p, what):
    check(p.returncode >= 0 and p.returncode < 128,
          f"{what}: killed by a signal or crashed: {describe(p)}")
    for marker in CRASH_MARKERS:
        check(marker not in p.stderr and marker not in p.stdout,
              f"{what}: output contains '{marker}': {describe(p)}")


def expect_ok(p, what):
    no_crash(p, what)
    check(p.returncode == 0, f"{what}: expected success: {describe(p)}")


def expect_clean_error(p, program, what, mentions=None):
    """Non-zero exit, no crash, exactly one error line (optionally mentioning a word)."""
    no_crash(p, what)
    check(p.returncode != 0, f"{what}: expected a failure exit status: {describe(p)}")
    lines = [l for l in p.stderr.splitlines() if l.strip()]
    errors = [l for l in lines if l.startswith(f"{program}: error: ")]
    check(len(errors) == 1, f"{what}: expected exactly one '{program}: error:' line: {describe(p)}")
    others = [l for l in lines if l not in errors and not l.startswith("warning: ")
              and not re.match(r"skipped \d+ unreadable file", l)]
    check(not others, f"{what}: unexpected stderr lines {others}: {describe(p)}")
    check(lines[-1] == errors[0], f"{what}: the error line must come last: {describe(p)}")
    # What a person reads: never an errno text for no error, never a C++ qualified name.
    check("Success" not in errors[0], f"{what}: the error says 'Success': {errors[0]}")
    check(not re.search(r"[A-Za-z_]\w*::[A-Za-z_]", errors[0]),
          f"{what}: an internal name in the error: {errors[0]}")
    if mentions:
        check(mentions.lower() in errors[0].lower(),
              f"{what}: the error should mention '{mentions}': {errors[0]}")
    return errors[0]


def workdir(name):
    return fresh_dir(ARGS.work, name)


def copy_data(dest, n=6):
    os.makedirs(dest, exist_ok=True)
    files = sorted(f for f in os.listdir(ARGS.data) if f.endswith(".mid"))[:n]
    for f in files:
        shutil.copy(os.path.join(ARGS.data, f), dest)
    return dest


def merged(base, extra):
    """base settings with every flag that `extra` also sets left out (CLI11 refuses repeats)."""
    extra = list(extra)
    out, i = [], 0
    while i < len(base):
        takes_value = i + 1 < len(base) and not base[i + 1].startswith("--")
        if base[i] not in extra:
            out += base[i:i + 2] if takes_value else base[i:i + 1]
        i += 2 if takes_value else 1
    return out + extra


def train(data, out, extra=(), timeout=300, **kw):
    return run([ARGS.train, "--data", data, "--out", out, *merged(TINY, extra)], timeout=timeout, **kw)


def generate(model, out, extra=(), timeout=120):
    return run([ARGS.generate, "--model", model, "--out", out, *merged(["--length", "40"], extra)],
               timeout=timeout)


def trained_model(base, name="model", extra=()):
    data = copy_data(os.path.join(base, "data"))
    out = os.path.join(base, name)
    expect_ok(train(data, out, extra), f"training the test model {name}")
    return data, out


def dump(path):
    p = run([ARGS.dump, path])
    check(p.returncode == 0, f"dump_params {path}: {describe(p)}")
    return p.stdout


def flip_byte(path, offset):
    with open(path, "r+b") as f:
        f.seek(offset)
        b = f.read(1)
        f.seek(offset)
        f.write(bytes([b[0] ^ 0x55]))


# ---------------------------------------------------------------------------------------------
def case_help():
    for prog, name, flag in ((ARGS.train, "lstmidi-train", "--seed"),
                             (ARGS.generate, "lstmidi-generate", "--seed"),
                             (ARGS.eval, "lstmidi-eval", "--model")):
        p = run([prog, "--help"])
        expect_ok(p, f"{name} --help")
        check("Usage" in p.stdout or "usage" in p.stdout.lower(), f"{name} --help prints no usage")
        check(flag in p.stdout, f"{name} --help does not list {flag}")


def case_train_errors():
    base = workdir("train_errors")
    data = copy_data(os.path.join(base, "data"), 3)
    T = "lstmidi-train"

    p = train(os.path.join(base, "no-such-folder"), os.path.join(base, "o1"))
    expect_clean_error(p, T, "missing --data", "no-such-folder")

    empty = os.path.join(base, "empty")
    os.makedirs(empty)
    p = train(empty, os.path.join(base, "o2"))
    expect_clean_error(p, T, "empty data folder", "no usable MIDI files")

    broken = os.path.join(base, "broken")
    os.makedirs(broken)
    src = open(os.path.join(data, sorted(os.listdir(data))[0]), "rb").read()
    open(os.path.join(broken, "truncated.mid"), "wb").write(src[: len(src) // 2])
    open(os.path.join(broken, "garbage.mid"), "wb").write(bytes(range(256)) * 4)
    open(os.path.join(broken, "empty.mid"), "wb").write(b"")
    open(os.path.join(broken, "header_only.mid"), "wb").write(src[:14])
    p = train(broken, os.path.join(base, "o3"))
    expect_clean_error(p, T, "only broken MIDI files", "no usable MIDI files")
    # load_corpus throws before lstmidi-train prints the per-file warnings, so only the count
    # is reported here (the reasons are printed when at least one file is usable).
    check("4 skipped" in p.stderr, f"expected a count of 4 skipped: {describe(p)}")

    # Unwritable --out: below a regular file (this also holds when running as root).
    afile = os.path.join(base, "a-file")
    open(afile, "w").write("x")
    p = train(data, os.path.join(afile, "out"))
    expect_clean_error(p, T, "--out below a regular file", "a-file")
    p = train(data, "/proc/lstmidi-cannot-write-here")
    expect_clean_error(p, T, "--out in /proc")

    for flags, word in ((["--lr", "-1"], "--lr"), (["--dropout", "2"], "--dropout"),
                        (["--layers", "0"], "--layers"), (["--no-such-flag"], "no-such-flag"),
                        (["--epochs", "abc"], "--epochs"), (["--hidden", "99999999999"], "--hidden"),
                        (["--encoding", "mp3"], "--encoding")):
        p = train(data, os.path.join(base, "o4"), flags)
        expect_clean_error(p, T, f"bad flag {flags}", word)
        check(p.returncode == 2, f"bad flag {flags}: usage errors exit with 2, got {p.returncode}")
        check(not os.path.exists(os.path.join(base, "o4")), f"bad flag {flags} created --out")

    p = train(data, os.path.join(base, "o5"), ["--resume"])
    expect_clean_error(p, T, "--resume with nothing to resume", "nothing to resume")

    run_dir = os.path.join(base, "run")
    expect_ok(train(data, run_dir), "first run")
    before = dump(os.path.join(run_dir, "last.lstmidi"))
    p = train(data, run_dir)
    expect_clean_error(p, T, "training again into a finished run without --resume", "--resume")
    check(dump(os.path.join(run_dir, "last.lstmidi")) == before, "the refused run changed last.lstmidi")

    # --resume with other settings or other data: refused, checkpoint untouched.
    p = train(data, run_dir, ["--hidden", "17", "--resume"])
    expect_clean_error(p, T, "--resume with another --hidden", "shape")
    other = copy_data(os.path.join(base, "other-data"), 5)
    p = train(other, run_dir, ["--resume"])
    expect_clean_error(p, T, "--resume with other data", "vocabulary")
    check(dump(os.path.join(run_dir, "last.lstmidi")) == before, "a refused resume changed last.lstmidi")

    # --resume on a corrupted last.lstmidi.
    bad = os.path.join(base, "run-bad")
    shutil.copytree(run_dir, bad)
    flip_byte(os.path.join(bad, "last.lstmidi"), 100)
    p = train(data, bad, ["--resume"])
    expect_clean_error(p, T, "--resume from a corrupted last.lstmidi", "checksum")


def case_generate_errors():
    base = workdir("generate_errors")
    data, model = trained_model(base)
    G = "lstmidi-generate"
    out = os.path.join(base, "out.mid")

    p = generate(os.path.join(base, "missing"), out)
    expect_clean_error(p, G, "missing --model dir", "missing")

    novocab = os.path.join(base, "novocab")
    shutil.copytree(model, novocab)
    os.remove(os.path.join(novocab, "vocab.txt"))
    expect_clean_error(generate(novocab, out), G, "model without vocab.txt", "vocab.txt")

    # A vocabulary from another run (other data -> other tokens).
    other_data = os.path.join(base, "other")
    os.makedirs(other_data)
    files = sorted(os.listdir(ARGS.data))
    for f in files[-4:]:
        shutil.copy(os.path.join(ARGS.data, f), other_data)
    other = os.path.join(base, "other-model")
    expect_ok(train(other_data, other), "training a second model")
    mixed = os.path.join(base, "mixed")
    shutil.copytree(model, mixed)
    shutil.copy(os.path.join(other, "vocab.txt"), os.path.join(mixed, "vocab.txt"))
    expect_clean_error(generate(mixed, out), G, "vocab.txt from another run", "does not match")

    # An edited vocab.txt (one count changed) is a mismatch too, and a broken one a clean error.
    edited = os.path.join(base, "edited")
    shutil.copytree(model, edited)
    text = open(os.path.join(edited, "vocab.txt")).read().splitlines()
    text[-1] = text[-1].rsplit(" ", 1)[0] + " 999999"
    open(os.path.join(edited, "vocab.txt"), "w").write("\n".join(text) + "\n")
    expect_clean_error(generate(edited, out), G, "edited vocab.txt", "does not match")
    open(os.path.join(edited, "vocab.txt"), "w").write("lstmidi-vocabulary 1\nsize 9999\n")
    expect_clean_error(generate(edited, out), G, "truncated vocab.txt", "vocab.txt")

    size = os.path.getsize(os.path.join(model, "model.lstmidi"))
    for off in (0, 9, 17, 30, size // 2, size - 1):
        bad = os.path.join(base, f"flip{off}")
        shutil.copytree(model, bad)
        flip_byte(os.path.join(bad, "model.lstmidi"), off)
        expect_clean_error(generate(bad, out), G, f"model.lstmidi with byte {off} flipped",
                           "model.lstmidi")
    for keep in (0, 7, 27, 100, size // 2, size - 1):
        bad = os.path.join(base, f"trunc{keep}")
        shutil.copytree(model, bad)
        with open(os.path.join(bad, "model.lstmidi"), "r+b") as f:
            f.truncate(keep)
        expect_clean_error(generate(bad, out), G, f"model.lstmidi truncated to {keep} bytes",
                           "model.lstmidi")
    bad = os.path.join(base, "dir-as-model")
    shutil.copytree(model, bad)
    os.remove(os.path.join(bad, "model.lstmidi"))
    os.makedirs(os.path.join(bad, "model.lstmidi"))
    expect_clean_error(generate(bad, out), G, "model.lstmidi is a directory", "model.lstmidi")

    p = generate(model, out, ["--primer-notes", "C-1.G9:1024 C4"])
    expect_clean_error(p, G, "--primer-notes with a chord the events encoding lacks", "not a word of the events encoding")
    p = generate(model, out, ["--primer-notes", "bar pos:0 G9 len:4"])
    expect_clean_error(p, G, "--primer-notes with a token the vocabulary lacks", "not in the model's vocabulary")
    for garbage in ("hello world", "C4 E4 ::: G4", "C4:0", "C4:99999999999", "H4", "1.2.99",
                    "C4.", "\u00e9\u00e8", "C4:4:4", "tie"):
        p = generate(model, out, ["--primer-notes", garbage])
        expect_clean_error(p, G, f"--primer-notes {garbage!r}", "--primer-notes")
        check(p.returncode == 2, f"--primer-notes {garbage!r}: a bad typed value is a usage error (2), got {p.returncode}")
    p = generate(model, out, ["--primer-notes", "   "])
    expect_clean_error(p, G, "--primer-notes with only spaces", "no events")

    broken = os.path.join(base, "broken.mid")
    src = open(os.path.join(data, sorted(os.listdir(data))[0]), "rb").read()
    open(broken, "wb").write(src[: len(src) // 2])
    expect_clean_error(generate(model, out, ["--primer", broken]), G, "--primer truncated MIDI", "broken.mid")
    open(broken, "wb").write(b"MThd garbage" * 10)
    expect_clean_error(generate(model, out, ["--primer", broken]), G, "--primer garbage MIDI", "broken.mid")
    expect_clean_error(generate(model, out, ["--primer", os.path.join(base, "nope.mid")]), G,
                       "--primer missing file", "nope.mid")

    for flags, word in ((["--temperature", "-1"], "--temperature"), (["--top-p", "0"], "--top-p"),
                        (["--length", "0"], "--length"), (["--length", "100001"], "--length"),
                        (["--top-k", "-3"], "--top-k"), (["--tempo", "0"], "--tempo"),
                        (["--program", "128"], "--program"), (["--weights", "int8"], "--weights"),
                        (["--bogus"], "bogus")):
        p = generate(model, out, flags)
        expect_clean_error(p, G, f"bad flag {flags}", word)
        check(p.returncode == 2, f"{flags}: usage errors exit with 2, got {p.returncode}")
    check(not os.path.exists(out), "a failed generate left an output file")

    # Unwritable output path.
    p = generate(model, os.path.join(base, "no-dir", "x.mid"))
    expect_clean_error(p, G, "--out in a missing directory", "x.mid")
    check(not [f for f in os.listdir(base) if ".tmp-" in f], "temporary files left behind")


def dead_pid():
    """A pid no process has now (for temporary files of a killed run)."""
    for pid in range(4_000_000, 3_000_000, -7919):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return pid
        except PermissionError:
            continue
    raise Skip("found no unused pid")


def case_run_folder():
    """A run folder is never lost by a slip: a finished model without last.lstmidi is not
    replaced, a second run on a folder in use is refused with the holder's pid, temporary files
    of a killed run are removed at the next start, and Ctrl-C saves the run and says how to
    continue it."""
    base = workdir("run_folder")
    data = copy_data(os.path.join(base, "data"), 3)
    T = "lstmidi-train"

    # A finished run whose last.lstmidi was deleted (to save space): a new run must not replace it.
    done = os.path.join(base, "done")
    expect_ok(train(data, done), "first run")
    os.remove(os.path.join(done, "last.lstmidi"))
    before = dump(os.path.join(done, "model.lstmidi"))
    p = train(data, done)
    expect_clean_error(p, T, "a fresh run over a finished model without last.lstmidi", "model.lstmidi")
    check(p.returncode == 2, f"the refused run: exit {p.returncode}, expected 2")
    check(dump(os.path.join(done, "model.lstmidi")) == before, "the refused run changed model.lstmidi")
    p = train(data, done, ["--resume"])
    expect_clean_error(p, T, "--resume of a finished run without last.lstmidi", "nothing to resume")

    # A second run on a folder in use: refused at once, naming the pid that holds it.
    busy = os.path.join(base, "busy")
    first = subprocess.Popen([str(ARGS.train), "--data", data, "--out", busy,
                              *merged(TINY, ["--epochs", "100000", "--patience", "0",
                                           "--checkpoint-every", "1"])],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 60
        while not os.path.exists(os.path.join(busy, "last.lstmidi")) and time.time() < deadline:
            if first.poll() is not None:
                raise Failure(f"the first run ended early: {first.stderr.read()}")
            time.sleep(0.05)
        check(os.path.exists(os.path.join(busy, "last.lstmidi")), "the first run wrote no checkpoint")
        for extra in (["--resume"], ["--hidden", "17", "--resume"]):
            p = train(data, busy, extra)
            err = expect_clean_error(p, T, f"a second run {extra} on a folder in use", "in use")
            check(f"pid {first.pid}" in err, f"the error should name pid {first.pid}: {err}")
            check(p.returncode == 1, f"folder in use: exit {p.returncode}, expected 1")
        # Temporary files: one of a dead writer (removed at the next start), one of a live one.
        stale = os.path.join(busy, f"last.lstmidi.tmp-{dead_pid()}-0")
        live = os.path.join(busy, f"history.csv.tmp-{os.getpid()}-0")
        for f in (stale, live):
            open(f, "wb").write(b"partial")

        # Ctrl-C: the run saves its checkpoint, says where it is and how to go on, exits 130.
        first.send_signal(signal.SIGINT)
        _, err = first.communicate(timeout=60)
        check(first.returncode == 130, f"Ctrl-C: exit {first.returncode}, expected 130: {err[-2000:]}")
        last = [l for l in err.splitlines() if l.strip()][-1]
        check("last.lstmidi" in last and f"lstmidi-train --out {busy} --resume" in last,
              f"Ctrl-C: the last line should say where the checkpoint is and how to continue: {last}")
        for marker in CRASH_MARKERS:
            check(marker not in err, f"Ctrl-C: '{marker}' in stderr")
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    # The command it printed continues the run (its own settings.ini gives every other setting).
    p = run([ARGS.train, "--out", busy, "--resume", "--epochs", "1"], timeout=300)
    expect_ok(p, "lstmidi-train --out DIR --resume, as printed after Ctrl-C")
    check(not os.path.exists(stale), "the temporary file of a killed run is still there")
    check(os.path.exists(live), "a temporary file of a live process was removed")
    check("removed 1 temporary file" in p.stdout, f"the clean-up is not reported: {p.stdout}")
    os.remove(live)


def case_settings_file():
    """A run's settings.ini repeats it (--config FILE --out NEW, from any folder) and resumes it
    (--out DIR --resume and nothing else); settings files with unknown names, junk lines or
    sections are refused with the line number."""
    base = workdir("settings_file")
    data = copy_data(os.path.join(base, "data"), 3)
    T = "lstmidi-train"
    # Trained with a relative --data, from the test's own folder.
    first = os.path.join(base, "first")
    expect_ok(run([ARGS.train, "--data", os.path.relpath(data), "--out", first,
                   *merged(TINY, ["--hidden", "12", "--epochs", "1"])]), "first run")
    settings = os.path.join(first, "settings.ini")

    # Repeated from another folder: the same settings, the same weights.
    again = os.path.join(base, "again")
    p = run([ARGS.train, "--config", settings, "--out", again], cwd="/", timeout=300)
    expect_ok(p, "--config settings.ini --out NEW from another folder")
    check(dump(os.path.join(again, "model.lstmidi")) == dump(os.path.join(first, "model.lstmidi")),
          "--config settings.ini did not repeat the run")
    text = open(os.path.join(again, "settings.ini")).read()
    check(not re.search(r"(?m)^\s*(out|resume)\s*=", text), f"settings.ini stores out or resume: {text}")

    # --resume with only --out: every other setting from the run's own settings.ini.
    p = run([ARGS.train, "--out", first, "--resume", "--epochs", "2"], cwd="/", timeout=300)
    expect_ok(p, "--out DIR --resume with no other flags")
    check("resuming at epoch 2" in p.stdout, f"the resume did not continue the run: {p.stdout}")
    # ... and with only some flags: the rest from settings.ini (no "another shape" error).
    p = run([ARGS.train, "--out", first, "--resume", "--data", data, "--epochs", "3"], timeout=300)
    expect_ok(p, "--resume with --data and --epochs only")
    check("resuming at epoch 3" in p.stdout, f"the resume did not continue the run: {p.stdout}")
    # A flag that contradicts the run is still refused.
    p = train(data, first, ["--hidden", "17", "--resume", "--epochs", "4"])
    expect_clean_error(p, T, "--resume with another --hidden", "shape")

    # Bad settings files: refused with the file and line, exit 2, nothing written.
    good = open(settings).read().splitlines()
    cases = (("unknown name", ["hiden=16"], "unknown setting 'hiden'", 4),
             ("junk line", ["this is not a setting"], "expected name=value", 4),
             ("a section", ["[training]", "layers=1"], "section", 4),
             ("a repeated name", ["epochs=1", "epochs=2"], "twice", 5),
             ("control bytes", ["\x1b[31mred=1"], "\\x1B[31mred", 4))
    for what, extra, word, line in cases:
        bad = os.path.join(base, "bad.ini")
        lines = good[:3] + extra + good[3:]
        open(bad, "w").write("\n".join(lines) + "\n")
        out = os.path.join(base, "o-bad")
        p = run([ARGS.train, "--config", bad, "--out", out])
        err = expect_clean_error(p, T, f"--config with {what}", word)
        check(f"bad.ini:{line}:" in err, f"--config with {what}: the error should give line {line}: {err}")
        check(p.returncode == 2, f"--config with {what}: exit {p.returncode}, expected 2")
        check(not os.path.exists(out), f"--config with {what} created --out")
    p = run([ARGS.train, "--config", os.path.join(base, "missing.ini"), "--out", os.path.join(base, "o")])
    expect_clean_error(p, T, "--config with a missing file", "missing.ini")


def set_model_meta(path, key, value):
    """Rewrites one metadata value of a model file, with a valid length and checksum (so only
    the value itself is wrong)."""
    import zlib
    b = bytearray(open(path, "rb").read())
    n = struct.unpack_from("<Q", b, 16)[0]
    kb = key.encode()
    at = b.find(struct.pack("<I", len(kb)) + kb, 24, 24 + n)
    check(at > 0, f"{path}: no metadata key {key}")
    vat = at + 4 + len(kb)
    old_len = struct.unpack_from("<I", b, vat)[0]
    vb = value.encode()
    b[vat:vat + 4 + old_len] = struct.pack("<I", len(vb)) + vb
    n = n - old_len + len(vb)
    struct.pack_into("<Q", b, 16, n)
    b = b[:24 + n]
    b += struct.pack("<I", zlib.crc32(bytes(b)) & 0xFFFFFFFF)
    open(path, "wb").write(bytes(b))


def case_generate_safety():
    """lstmidi-generate never replaces a model, a model folder's own files or anything that is
    not its own kind of output, and checks everything (the model's metadata included) before it
    writes any file."""
    base = workdir("generate_safety")
    _, model = trained_model(base)
    G = "lstmidi-generate"
    model_file = os.path.join(model, "model.lstmidi")
    before = {f: open(os.path.join(model, f), "rb").read() for f in os.listdir(model)}

    notes = os.path.join(base, "notes.txt")
    open(notes, "w").write("my notes\n")
    folder = os.path.join(base, "a-folder")
    os.makedirs(folder)
    for what, extra, word in (
            ("--out the model file", ["--out", model_file], "model"),
            ("--out the vocabulary", ["--out", os.path.join(model, "vocab.txt")], "vocab.txt"),
            ("--out settings.ini", ["--out", os.path.join(model, "settings.ini")], "settings.ini"),
            ("a picture over loss.svg", ["--out", os.path.join(model, "loss.mid")], "loss.svg"),
            ("--picture over loss.svg", ["--out", os.path.join(base, "x.mid"), "--picture",
                                         os.path.join(model, "loss.svg")], "loss.svg"),
            ("--out a text file", ["--out", notes], "not a MIDI file"),
            ("--picture a text file", ["--out", os.path.join(base, "y.mid"), "--picture", notes],
             "not an SVG"),
            ("--out a directory", ["--out", folder], "directory"),
            ("--num-outputs onto a text file", ["--out", os.path.join(base, "n.mid"), "--num-outputs", "2",
                                                "--seed", "1"], "n-2.mid")):
        if what.startswith("--num-outputs"):
            open(os.path.join(base, "n-2.mid"), "w").write("not music")
        p = run([ARGS.generate, "--model", model, *merged(["--length", "20"], extra)])
        expect_clean_error(p, G, what, word)
        check(p.returncode == 2, f"{what}: exit {p.returncode}, expected 2")
        after = {f: open(os.path.join(model, f), "rb").read() for f in os.listdir(model)}
        check(after == before, f"{what}: the model folder changed")
        check(open(notes).read() == "my notes\n", f"{what}: notes.txt changed")
        check(not os.path.exists(os.path.join(base, "n-1.mid")), f"{what}: wrote n-1.mid before refusing")
        check(not os.path.exists(os.path.join(model, "loss.mid")), f"{what}: wrote loss.mid before refusing")
    # A new name in the model folder, and an earlier output, may be written.
    expect_ok(generate(model, os.path.join(model, "new.mid")), "--out a new file in the model folder")
    expect_ok(generate(model, os.path.join(model, "new.mid")), "--out over an earlier output")

    # A bad metadata value (in a well-formed, checksummed file): refused before any output.
    for key, value in (("pc_hist", "0.1,0.2,oops"), ("pc_hist", "1,2"), ("common_tempo", "nan"),
                       ("common_tempo", "-5")):
        bad = os.path.join(base, f"bad-{key}")
        shutil.rmtree(bad, ignore_errors=True)
        shutil.copytree(model, bad, ignore=shutil.ignore_patterns("*.mid", "*.svg"))
        set_model_meta(os.path.join(bad, "model.lstmidi"), key, value)
        out = os.path.join(base, f"meta-{key}.mid")
        p = generate(bad, out)
        err = expect_clean_error(p, G, f"model with {key}={value!r}", key)
        check("model.lstmidi" in err, f"{key}: the error should name the model file: {err}")
        check(not os.path.exists(out) and not os.path.exists(out[:-4] + ".svg"),
              f"model with a bad {key}: files were written before the error")
    # The rewriting itself keeps a good file good.
    good = os.path.join(base, "good-copy")
    shutil.copytree(model, good, ignore=shutil.ignore_patterns("*.mid", "*.svg"))
    set_model_meta(os.path.join(good, "model.lstmidi"), "common_tempo", "77")
    p = generate(good, os.path.join(base, "good.mid"))
    expect_ok(p, "model with a rewritten, valid common_tempo")
    check("77 bpm" in p.stdout, f"the rewritten common_tempo is not used: {p.stdout}")


def case_flags_honest():
    """Every flag does what it says or is refused: flags of the other kind of model, nan and
    out-of-range numbers and seeds, --picture "" and --no-picture, an --out without .mid, --version
    on every program, the same primer flag in lstmidi-chars; and error messages stay one short,
    printable line that names the file at fault."""
    base = workdir("flags_honest")
    data, model = trained_model(base)
    G = "lstmidi-generate"
    out = os.path.join(base, "o.mid")

    # Numbers that are not numbers, seeds outside 0..2^64-1: usage errors before anything runs.
    for flags, word in ((["--tempo", "nan"], "--tempo"), (["--tempo", "inf"], "--tempo"),
                        (["--temperature", "nan"], "--temperature"), (["--top-p", "nan"], "--top-p"),
                        (["--seed", "-1"], "--seed"), (["--seed", "18446744073709551616"], "--seed"),
                        (["--seed", "0x10"], "--seed"), (["--reattack"], "--reattack")):
        p = generate(model, out, flags)
        expect_clean_error(p, G, f"generate {flags}", word)
        check(p.returncode == 2, f"generate {flags}: exit {p.returncode}, expected 2")
        check(not os.path.exists(out), f"generate {flags} wrote a file")
    for flags, word in ((["--lr", "nan"], "--lr"), (["--dropout", "nan"], "--dropout"),
                        (["--seed", "-1"], "--seed")):
        p = train(data, os.path.join(base, "t"), flags)
        expect_clean_error(p, "lstmidi-train", f"train {flags}", word)
        check(p.returncode == 2, f"train {flags}: exit {p.returncode}, expected 2")
    expect_ok(generate(model, out, ["--seed", "18446744073709551615"]), "the largest seed")
    os.remove(out)
    os.remove(out[:-4] + ".svg")

    # No picture on request.
    for flags in (["--no-picture"], ["--picture", ""]):
        p = generate(model, out, flags)
        expect_ok(p, f"generate {flags}")
        check(os.path.exists(out) and not os.path.exists(out[:-4] + ".svg"), f"{flags} wrote a picture")
        check(".svg" not in p.stdout, f"{flags}: a picture is reported: {p.stdout}")
        os.remove(out)
    # An --out that is not a .mid name: written, with a warning.
    txt = os.path.join(base, "song.txt")
    p = generate(model, txt)
    expect_ok(p, "--out song.txt")
    check(any(l.startswith("warning: ") and ".mid" in l for l in p.stderr.splitlines()),
          f"--out song.txt: no warning about the name: {describe(p)}")
    p = generate(model, out)
    check(not p.stderr.strip(), f"--out o.mid: unexpected stderr: {describe(p)}")

    # Flags of the other kind of model.
    roll = os.path.join(base, "roll")
    expect_ok(run([ARGS.train, "--data", data, "--out", roll, "--mode", "pianoroll", "--hidden", "8",
                   "--layers", "1", "--seq-len", "8", "--batch", "4", "--epochs", "1", "--threads", "1",
                   "--quiet"], timeout=300), "training a piano-roll model")
    p = generate(roll, out, ["--top-k", "5"])
    expect_clean_error(p, G, "piano-roll model with --top-k", "--top-k")
    check(p.returncode == 2, f"piano-roll --top-k: exit {p.returncode}, expected 2")
    expect_ok(generate(roll, out, ["--reattack"]), "piano-roll model with --reattack")
    expect_ok(generate(roll, out, ["--top-p", "0.9"]), "piano-roll model with --top-p (per key)")
    # The nade output: trained, generated key by key, scored exactly; tokens mode refuses it.
    nade = os.path.join(base, "roll_nade")
    expect_ok(run([ARGS.train, "--data", data, "--out", nade, "--mode", "pianoroll", "--output", "nade",
                   "--nade-hidden", "6", "--hidden", "8", "--layers", "1", "--seq-len", "8", "--batch",
                   "4", "--epochs", "1", "--threads", "1", "--quiet"], timeout=300),
              "training a piano-roll model with the nade output")
    expect_ok(generate(nade, out, ["--top-p", "0.95"]), "nade piano-roll model")
    p = run([ARGS.eval, "--model", nade, "--data", data])
    expect_ok(p, "lstmidi-eval of a nade piano-roll model")
    check("(nade output)" in p.stdout, f"lstmidi-eval does not name the nade output: {describe(p)}")
    p = run([ARGS.train, "--data", data, "--out", os.path.join(base, "tok_nade"), "--output", "nade",
             "--epochs", "1", "--quiet"])
    expect_clean_error(p, "lstmidi-train", "tokens model with --output nade", "--output")

    # --version everywhere.
    for prog, name in ((ARGS.train, "lstmidi-train"), (ARGS.generate, G), (ARGS.eval, "lstmidi-eval"),
                       (ARGS.chars, "lstmidi-chars")):
        if prog is None:
            raise Skip("--chars not given")
        p = run([prog, "--version"])
        expect_ok(p, f"{name} --version")
        check(re.fullmatch(rf"{name} \d+\.\d+\.\d+\s*", p.stdout), f"{name} --version: {p.stdout!r}")

    # lstmidi-chars takes --primer as lstmidi-generate does, with the same default temperature.
    text = os.path.join(base, "text.txt")
    open(text, "w").write("the cat sat on the mat. " * 200)
    cm = os.path.join(base, "chars")
    expect_ok(run([ARGS.chars, "train", "--text", text, "--out", cm, "--hidden", "16", "--layers", "1",
                   "--seq-len", "16", "--batch", "8", "--epochs", "1", "--threads", "1", "--quiet"],
                  timeout=300), "lstmidi-chars train")
    p = run([ARGS.chars, "sample", "--model", cm, "--primer", "the ", "--length", "20", "--seed", "3"])
    expect_ok(p, "lstmidi-chars sample --primer")
    check(p.stdout.startswith("the "), f"--primer is not where the text starts: {p.stdout!r}")
    for prog, args in ((ARGS.chars, ["sample", "--help"]), (ARGS.generate, ["--help"])):
        h = run([prog, *args]).stdout
        check(re.search(r"--temperature FLOAT[^\n]*=1\b", h) or re.search(r"--temperature[^\n]*\n?[^\n]*=1(\.0)?\b", h),
              f"{prog}: the default temperature is not 1: {h}")

    # Error messages: control bytes escaped, long input cut, the file named, no internal names.
    p = generate(model, out, ["--primer-notes", "C4 \x1b[31mX\x07"])
    err = expect_clean_error(p, G, "--primer-notes with control bytes")
    check("\x1b" not in err and "\x07" not in err and "\\x1B" in err, f"control bytes not escaped: {err!r}")
    p = generate(model, out, ["--primer-notes", "Q" * 100000])
    err = expect_clean_error(p, G, "--primer-notes of 100,000 bytes")
    check(len(err) < 1200, f"a 100 kB input gave a {len(err)}-byte message")
    p = generate(model, out, ["--primer-notes", "<unk>"])
    err = expect_clean_error(p, G, "--primer-notes <unk>")
    check("::" not in err, f"an internal name in the message: {err}")
    bad = os.path.join(base, "bad-primers")
    shutil.copytree(model, bad, ignore=shutil.ignore_patterns("*.mid", "*.svg"))
    open(os.path.join(bad, "primers.txt"), "w").write("bar pos:0 \x1b[2J nonsense\n")
    p = generate(bad, out)
    err = expect_clean_error(p, G, "a broken primers.txt", "primers.txt:1")
    check("\x1b" not in err, f"control bytes not escaped: {err!r}")
    # A saved primer line of two million words is cut to --primer-length before it is parsed.
    open(os.path.join(bad, "primers.txt"), "w").write(" ".join(["bar"] * 2_000_000) + "\n")
    t0 = time.time()
    p = generate(bad, out, ["--no-picture"])
    expect_ok(p, "a primers.txt line of two million words")
    check(time.time() - t0 < 10, f"a long primers.txt line took {time.time() - t0:.1f} s")
    check("primer of 32 " in p.stdout, f"the saved primer was not cut to --primer-length: {p.stdout}")


def case_memory_up_front():
    """Memory and size are known before anything is allocated: training prints its memory
    estimate, refuses settings that cannot fit (--max-memory, or by default 80% of the memory or
    of ulimit -v) with the estimate in the message and no run folder, caps the batch at the
    number of windows; a huge or mislabelled model file is refused from its first bytes."""
    base = workdir("memory_up_front")
    data = copy_data(os.path.join(base, "data"), 6)
    T = "lstmidi-train"

    # The issue's settings: refused at once, with the estimate, before any folder exists.
    out = os.path.join(base, "huge")
    t0 = time.time()
    p = train(data, out, ["--seq-len", "4096", "--batch", "4096", "--stride", "1", "--hidden", "256",
                          "--embedding", "64", "--layers", "2", "--max-memory", "256M"])
    err = expect_clean_error(p, T, "training that needs far more memory than --max-memory", "memory")
    check(re.search(r"about [\d.]+ [MGT]B", err) and "--max-memory" in err, f"no estimate in: {err}")
    check(p.returncode == 2, f"memory refusal: exit {p.returncode}, expected 2")
    check(time.time() - t0 < 60, f"the refusal took {time.time() - t0:.0f} s")
    check(not os.path.exists(out), "the refused run created its folder")

    # The default limit follows ulimit -v: a clean refusal instead of std::bad_alloc.
    # AddressSanitizer cannot start under ulimit -v (it reserves terabytes of shadow memory), so
    # a sanitizer build runs this part only in the plain build's suite.
    def limit_as():
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
    if UNDER_ASAN:
        print("skipped under AddressSanitizer: training under ulimit -v")
    else:
        p = run([ARGS.train, "--data", data, "--out", out, *merged(TINY, [
            "--seq-len", "256", "--batch", "1024", "--stride", "1", "--hidden", "256",
            "--embedding", "64", "--layers", "2"])], timeout=300, preexec_fn=limit_as)
        err = expect_clean_error(p, T, "training beyond ulimit -v with the default --max-memory",
                                 "memory")
        check("ulimit" in err, f"the message should say where the limit comes from: {err}")
        check(not os.path.exists(out), "the refused run created its folder")

    # Small settings: the estimate is printed with the settings; the batch is capped.
    small = os.path.join(base, "small")
    p = train(data, small, ["--batch", "4096", "--epochs", "1"])
    expect_ok(p, "training with --batch above the number of windows")
    m = re.search(r"memory: about ([\d.]+) (KB|MB|GB)", p.stdout)
    check(m is not None, f"no memory estimate printed: {p.stdout}")
    windows = int(re.search(r"(\d+) training / ", p.stdout).group(1))
    check(f"batch: {windows} windows per batch" in p.stdout, f"the batch was not capped: {p.stdout}")
    check(re.search(r", 1 batches per epoch", p.stdout), f"a capped batch is one batch per epoch: {p.stdout}")
    p = train(data, os.path.join(base, "tiny-limit"), ["--max-memory", "1K"])
    expect_clean_error(p, T, "--max-memory 1K", "--max-memory")
    for bad in ("lots", "-5G", "nan", "1X"):
        p = train(data, os.path.join(base, "bad-limit"), ["--max-memory", bad])
        expect_clean_error(p, T, f"--max-memory {bad}", "--max-memory")
        check(p.returncode == 2, f"--max-memory {bad}: exit {p.returncode}")

    # A model file of 1.5 GB (sparse): refused from its header, fast and without reading it.
    model = small
    for name, make in (("grown", lambda f: f.truncate(1_500_000_000)),
                       ("zeros", lambda f: (f.seek(0), f.write(b"\0" * 64), f.truncate(1_500_000_000)))):
        big = os.path.join(base, f"big-{name}")
        shutil.copytree(model, big, ignore=shutil.ignore_patterns("*.mid", "*.svg"))
        with open(os.path.join(big, "model.lstmidi"), "r+b") as f:
            make(f)
        def limit_small():
            resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
        t0 = time.time()
        p = run([ARGS.generate, "--model", big, "--out", os.path.join(base, "x.mid")],
                preexec_fn=None if UNDER_ASAN else limit_small)  # see UNDER_ASAN
        expect_clean_error(p, "lstmidi-generate", f"a 1.5 GB model file ({name})", "model.lstmidi")
        check(time.time() - t0 < 5, f"a 1.5 GB model file took {time.time() - t0:.1f} s to refuse")
        shutil.rmtree(big)


def strip_embedded_files(path):
    """Rewrites a model file without the files it carries ("embedded:*" metadata): a model file
    as lstmidi wrote it before one-file models."""
    import zlib
    b = bytes(open(path, "rb").read())
    n = struct.unpack_from("<Q", b, 16)[0]
    end = 24 + n

    def parse_meta(o):
        count = struct.unpack_from("<I", b, o)[0]
        if not 5 <= count <= 4096:
            return None
        entries, at = [], o + 4
        for _ in range(count):
            pair = []
            for _ in range(2):
                if at + 4 > end:
                    return None
                ln = struct.unpack_from("<I", b, at)[0]
                if at + 4 + ln > end:
                    return None
                pair.append(b[at + 4:at + 4 + ln])
                at += 4 + ln
            if not all(32 <= c < 127 for c in pair[0]) or not pair[0]:
                return None
            entries.append(pair)
        return entries if at == end else None

    for o in range(end - 8, 24, -1):
        entries = parse_meta(o)
        if entries is not None:
            break
    check(entries is not None, f"{path}: metadata not found")
    kept = [e for e in entries if not e[0].startswith(b"embedded:")]
    check(len(kept) < len(entries), f"{path}: carries no embedded files")
    meta = struct.pack("<I", len(kept)) + b"".join(
        struct.pack("<I", len(k)) + k + struct.pack("<I", len(v)) + v for k, v in kept)
    body = bytearray(b[:o] + meta)
    struct.pack_into("<Q", body, 16, len(body) - 24)
    body += struct.pack("<I", zlib.crc32(bytes(body)) & 0xFFFFFFFF)
    open(path, "wb").write(bytes(body))


def case_one_file_model():
    """model.lstmidi alone is a complete model (vocabulary, saved primers and settings inside its
    checksummed container): lstmidi-generate and lstmidi-eval accept it as they accept the folder,
    with the same results; folders of older model files keep loading."""
    base = workdir("one_file_model")
    data, model = trained_model(base)
    share = os.path.join(base, "share")
    os.makedirs(share)
    single = os.path.join(share, "bach.lstmidi")
    shutil.copy(os.path.join(model, "model.lstmidi"), single)

    def gen(m, name, extra=()):
        out = os.path.join(base, name)
        p = generate(m, out, merged(["--seed", "4", "--length", "60"], extra))
        expect_ok(p, f"generate from {m} {list(extra)}")
        return open(out, "rb").read()

    check(gen(single, "file.mid") == gen(model, "folder.mid"),
          "the model file alone and its folder generate different files")
    first_primer = open(os.path.join(model, "primers.txt")).readline().strip()
    check(gen(single, "pn1.mid", ["--primer-notes", first_primer]) ==
          gen(model, "pn2.mid", ["--primer-notes", first_primer]), "--primer-notes: file and folder differ")
    p1 = run([ARGS.eval, "--model", single, "--data", data])
    p2 = run([ARGS.eval, "--model", model, "--data", data])
    expect_ok(p1, "lstmidi-eval --model FILE")
    expect_ok(p2, "lstmidi-eval --model FOLDER")
    check(p1.stdout == p2.stdout, f"lstmidi-eval: file and folder differ: {p1.stdout} / {p2.stdout}")
    p = generate(single, single)
    expect_clean_error(p, "lstmidi-generate", "--out onto the model file", "model in use")
    settings = [k for k in open(single, "rb").read().split(b"\0") if b"embedded:settings.ini" in k]
    check(settings, "the model file does not carry settings.ini")

    # Piano-roll models too.
    roll = os.path.join(base, "roll")
    expect_ok(run([ARGS.train, "--data", data, "--out", roll, "--mode", "pianoroll", "--hidden", "8",
                   "--layers", "1", "--seq-len", "8", "--batch", "4", "--epochs", "1", "--threads", "1",
                   "--quiet"], timeout=300), "training a piano-roll model")
    roll_single = os.path.join(share, "roll.lstmidi")
    shutil.copy(os.path.join(roll, "model.lstmidi"), roll_single)
    check(gen(roll_single, "r1.mid") == gen(roll, "r2.mid"), "piano-roll: file and folder differ")

    # A folder whose model file predates one-file models: loads from its vocab.txt as before;
    # that model file alone is refused with a message that says to give the folder.
    old = os.path.join(base, "old")
    shutil.copytree(model, old, ignore=shutil.ignore_patterns("*.mid", "*.svg"))
    strip_embedded_files(os.path.join(old, "model.lstmidi"))
    check(b"embedded:" not in open(os.path.join(old, "model.lstmidi"), "rb").read(), "strip failed")
    check(gen(old, "old.mid") == gen(model, "folder.mid"), "an old-style folder generates differently")
    p = generate(os.path.join(old, "model.lstmidi"), os.path.join(base, "x.mid"))
    expect_clean_error(p, "lstmidi-generate", "an old model file alone", "folder")


def case_reports():
    """What the programs print tells the truth: the validation split and a run without one, the
    LSTM against the bigram baseline and why the two validation figures differ, one progress
    line per epoch on a pipe, lstmidi-eval on the training files, greedy decoding."""
    base = workdir("reports")
    one = copy_data(os.path.join(base, "one"), 1)
    p = train(one, os.path.join(base, "m1"), ["--epochs", "1"])
    expect_ok(p, "training on one file")
    check(re.search(r"(?m)^warning: no validation pieces \(1 piece", p.stderr),
          f"one file: no warning that nothing validates: {describe(p)}")
    two = copy_data(os.path.join(base, "two"), 2)
    p = train(two, os.path.join(base, "m2"), ["--epochs", "1"])
    expect_ok(p, "training on two files")
    check("split: 1 of 2 pieces held out for validation (50%; --valid-fraction 0.1" in p.stdout,
          f"two files: the split is not explained: {p.stdout}")

    # Piped progress: one bar line per epoch; the report explains itself.
    data = copy_data(os.path.join(base, "data"), 6)
    model = os.path.join(base, "model")
    p = run([ARGS.train, "--data", data, "--out", model,
             *[a for a in merged(TINY, ["--epochs", "3", "--lr", "1e-5"]) if a != "--quiet"]], timeout=300)
    expect_ok(p, "training with progress on a pipe")
    bars = [l for l in p.stderr.splitlines() if re.match(r"epoch \d+/3 \[", l)]
    check(len(bars) == 3, f"expected one progress line per epoch on a pipe, got {len(bars)}: {p.stderr}")
    check("each starting from a blank state" in p.stdout, f"the two validation figures are not explained: {p.stdout}")
    check("note: the LSTM does no better than the bigram baseline" in p.stdout,
          f"an untrained LSTM that loses to the bigram is not called out: {p.stdout}")
    check("no better than the bigram" in open(os.path.join(model, "evaluation.txt")).read(),
          "evaluation.txt lacks the bigram note")

    # The ETA covers the rest of the run (or of its time budget), not of the epoch: at the end
    # of epoch 1 of 1000, under a 3 s budget, it is what is left of the budget (an epoch-only
    # ETA reads 0:00 at every epoch's end). The bar is the same on a terminal.
    q = run([ARGS.train, "--data", data, "--out", os.path.join(base, "eta"),
             *[a for a in merged(TINY, ["--epochs", "1000", "--time-budget", "3", "--patience", "0"]) if a != "--quiet"]],
            timeout=300)
    expect_ok(q, "training under a time budget with progress on a pipe")
    eta_bars = [l for l in q.stderr.splitlines() if re.match(r"epoch \d+/1000 \[", l)]
    check(eta_bars and re.search(r"ETA (\S+)", eta_bars[0]).group(1) != "0:00",
          f"the ETA must cover the whole run or its budget: {eta_bars[:2]}")
    check("to train on: lstmidi-train --out" in q.stdout, f"a run stopped by its budget should say how to go on: {q.stdout}")

    # The loss chart marks the best epoch and has round tick values.
    svg = open(os.path.join(model, "loss.svg")).read()
    best = re.search(r"best epoch (\d+) of 3", p.stdout).group(1)
    check('class="best"' in svg and f">best epoch {best}<" in svg, f"loss.svg does not mark epoch {best}")
    ticks = [float(v) for v in re.findall(r'<text class="tick"[^>]*>([^<]+)</text>', svg)]
    steps = {round(b - a, 9) for a, b in zip(ticks, ticks[1:])}
    check(len(ticks) >= 3 and len(steps) == 1, f"loss.svg ticks are not evenly spaced: {ticks}")
    step = steps.pop()
    mant = step / 10 ** math.floor(math.log10(step))
    check(any(abs(mant - m) < 1e-6 for m in (1, 2, 5)), f"loss.svg tick step {step} is not round: {ticks}")
    check(all(abs(t / step - round(t / step)) < 1e-6 for t in ticks), f"loss.svg ticks are not round: {ticks}")

    # lstmidi-eval on the files the model was trained on says so; on other files it does not.
    p = run([ARGS.eval, "--model", model, "--data", data])
    expect_ok(p, "lstmidi-eval on the training folder")
    m = re.search(r"warning: (\d+) of 6 files are pieces this model was trained on", p.stderr)
    check(m and int(m.group(1)) == 5, f"lstmidi-eval on training files: no (or a wrong) warning: {describe(p)}")
    other = os.path.join(base, "other")
    os.makedirs(other)
    for f in sorted(os.listdir(ARGS.data))[-3:]:
        shutil.copy(os.path.join(ARGS.data, f), other)
    p = run([ARGS.eval, "--model", model, "--data", other])
    expect_ok(p, "lstmidi-eval on other files")
    check("trained on" not in p.stderr, f"a warning on files the model never saw: {describe(p)}")

    # On the held-out piece alone (the file it does not warn about), lstmidi-eval prints the
    # very table of the run's evaluation.txt.
    table = [l for l in open(os.path.join(model, "evaluation.txt")).read().splitlines()
             if re.match(r"  (lstm|bigram|unigram) ", l)]
    check(len(table) == 3, f"evaluation.txt has no table: {table}")
    held = []
    for f in sorted(os.listdir(data)):
        one_dir = os.path.join(base, "single", f)
        os.makedirs(one_dir)
        shutil.copy(os.path.join(data, f), one_dir)
        p = run([ARGS.eval, "--model", model, "--data", one_dir])
        expect_ok(p, f"lstmidi-eval on {f}")
        if "trained on" not in p.stderr:
            held.append([l for l in p.stdout.splitlines() if re.match(r"  (lstm|bigram|unigram) ", l)])
    check(len(held) == 1, f"expected exactly one held-out file, found {len(held)}")
    check(held[0] == table, f"lstmidi-eval's table differs from evaluation.txt's: {held[0]} / {table}")

    # Greedy decoding warns.
    out = os.path.join(base, "g.mid")
    p = generate(model, out, ["--temperature", "0"])
    expect_ok(p, "generate --temperature 0")
    check(any(l.startswith("warning: --temperature 0") for l in p.stderr.splitlines()),
          f"--temperature 0 gives no warning: {describe(p)}")


def parse_midi_with_mido(path):
    """Independent check: parses, every note-on has a note-off, every track ends with EOT.
    Without mido the whole case is reported as skipped: its independent check did not run."""
    mido = mido_or_skip()
    mid = mido.MidiFile(path)
    notes = 0
    for i, track in enumerate(mid.tracks):
        check(len(track) > 0 and track[-1].type == "end_of_track", f"{path}: track {i} lacks EOT")
        check(sum(1 for m in track if m.type == "end_of_track") == 1, f"{path}: track {i}: several EOTs")
        sounding = {}
        for m in track:
            if m.type == "note_on" and m.velocity > 0:
                key = (m.channel, m.note)
                sounding[key] = sounding.get(key, 0) + 1
                notes += 1
            elif m.type == "note_off" or (m.type == "note_on" and m.velocity == 0):
                key = (m.channel, m.note)
                check(sounding.get(key, 0) > 0, f"{path}: note-off without note-on {key}")
                sounding[key] -= 1
        check(all(v == 0 for v in sounding.values()), f"{path}: notes never released: {sounding}")
    check(notes > 0, f"{path}: no notes")
    return f"ok ({notes} notes, {len(mid.tracks)} track(s), {mid.length:.1f} s)"


def case_generate_output():
    base = workdir("generate_output")
    data, model = trained_model(base)
    outs = []
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        out = os.path.join(base, f"{name}.mid")
        expect_ok(generate(model, out, ["--seed", str(seed), "--length", "120"]), f"generate {name}")
        check(os.path.exists(out) and os.path.exists(out[:-4] + ".svg"), f"{name}: missing outputs")
        outs.append(open(out, "rb").read())
    check(outs[0] == outs[1], "same --seed gave different MIDI files")
    check(outs[0] != outs[2], "different seeds gave the same MIDI file (suspicious)")
    for flags in (["--temperature", "0"], ["--top-k", "1"], ["--top-p", "0.5"],
                  ["--primer-notes", open(os.path.join(model, "primers.txt")).readline().strip()],
                  ["--primer", os.path.join(data, sorted(os.listdir(data))[0])],
                  ["--length", "1"], ["--tempo", "60", "--instruments", "0,0/1"],
                  ["--voices", "--end-at-bar", "--length-temperature", "1.1"]):
        out = os.path.join(base, "v.mid")
        expect_ok(generate(model, out, flags), f"generate {flags}")
        a = open(out, "rb").read()
        expect_ok(generate(model, out, flags), f"generate {flags} again")
        check(open(out, "rb").read() == a, f"{flags}: same seed, different output")
        print("mido", flags, parse_midi_with_mido(out))
    print("mido a.mid:", parse_midi_with_mido(os.path.join(base, "a.mid")))
    # Threads must not change the result.
    out = os.path.join(base, "t2.mid")
    expect_ok(generate(model, out, ["--seed", "5", "--length", "120", "--threads", "2"]), "generate --threads 2")
    check(open(out, "rb").read() == outs[0], "--threads 2 changed the generated file")
    # Weight precision. float32 samples the model exactly and is repeatable across threads;
    # float16 is the default (auto) where the build can, otherwise a clear error.
    out = os.path.join(base, "f.mid")
    p = generate(model, out, ["--seed", "5", "--length", "120", "--weights", "float32"])
    expect_ok(p, "--weights float32")
    check("float weights" in p.stdout, f"--weights float32: not reported: {p.stdout}")
    f32 = open(out, "rb").read()
    print("mido --weights float32", parse_midi_with_mido(out))
    expect_ok(generate(model, out, ["--seed", "5", "--length", "120", "--weights", "float32",
                                    "--threads", "2"]), "--weights float32 --threads 2")
    check(open(out, "rb").read() == f32, "--weights float32: --threads 2 changed the file")
    out = os.path.join(base, "h.mid")
    p = generate(model, out, ["--seed", "5", "--length", "120", "--weights", "float16"])
    default = run([ARGS.generate, "--model", model, "--out", os.path.join(base, "d.mid"),
                   "--seed", "5", "--length", "120"])
    expect_ok(default, "generate with the default weights")
    if p.returncode == 0:
        check("16-bit weights" in p.stdout, f"--weights float16: not reported: {p.stdout}")
        check("16-bit weights" in default.stdout, f"auto did not choose 16-bit weights: {default.stdout}")
        check(open(out, "rb").read() == outs[0], "--weights float16 differs from the default (auto)")
        print("mido --weights float16", parse_midi_with_mido(out))
    else:
        expect_clean_error(p, "lstmidi-generate", "--weights float16 without F16C", "F16C")
        check(not os.path.exists(out), "--weights float16 failed but left a file")
        check("float weights" in default.stdout, f"auto did not fall back to float: {default.stdout}")
        check(outs[0] == f32, "auto without F16C differs from --weights float32")


def notes_in(stdout):
    m = re.search(r", (\d+) notes, ", stdout)
    check(m is not None, f"no note count in the output: {stdout}")
    return int(m.group(1))


def case_pianoroll():
    """Piano-roll mode end to end: training, generation in both weight precisions, scoring
    with lstmidi-eval, and the flags that belong to one mode only."""
    base = workdir("pianoroll")
    data = copy_data(os.path.join(base, "data"))
    model = os.path.join(base, "model")
    roll = ["--mode", "pianoroll", "--frame-beats", "1", "--hidden", "16", "--layers", "1",
            "--seq-len", "16", "--batch", "4", "--epochs", "6", "--lr", "0.01", "--threads", "1"]
    p = run([ARGS.train, "--data", data, "--out", model, *roll], timeout=300)
    expect_ok(p, "pianoroll training")
    check("ppl" not in p.stdout, f"a piano-roll run printed a perplexity: {p.stdout}")
    check("frames/s" in p.stderr and "tok/s" not in p.stderr,
          f"a piano-roll run's progress should count frames: {p.stderr}")
    for f in ("model.lstmidi", "last.lstmidi", "settings.ini", "primers.txt", "evaluation.txt"):
        check(os.path.exists(os.path.join(model, f)), f"pianoroll training did not write {f}")

    # The settings file reproduces the run's settings; its defaults are no error.
    p = run([ARGS.train, "--config", os.path.join(model, "settings.ini"), "--out",
             os.path.join(base, "again"), "--epochs", "1"], timeout=300)
    expect_ok(p, "pianoroll training from settings.ini")

    # Generation: repeatable, seed-dependent, playable; 16-bit weights by default where the build
    # can, float32 on request, neither depending on the thread count.
    def gen(name, extra=()):
        out = os.path.join(base, name + ".mid")
        p = generate(model, out, merged(["--seed", "3"], extra))
        expect_ok(p, f"pianoroll generate {name} {list(extra)}")
        check("generated frames" in p.stdout, f"{name}: not a frame count: {p.stdout}")
        return p, open(out, "rb").read()

    pa, a = gen("a")
    _, b = gen("b")
    _, c = gen("c", ["--seed", "4"])
    check(a == b, "pianoroll: same seed, different files")
    check(a != c, "pianoroll: different seeds gave the same file (suspicious)")
    print("mido pianoroll a.mid:", parse_midi_with_mido(os.path.join(base, "a.mid")))
    _, f32 = gen("f32", ["--weights", "float32"])
    _, f32t = gen("f32t", ["--weights", "float32", "--threads", "2"])
    check(f32 == f32t, "pianoroll --weights float32: --threads 2 changed the file")
    _, t2 = gen("t2", ["--threads", "2"])
    check(t2 == a, "pianoroll: --threads 2 changed the file")
    if "16-bit weights" in pa.stdout:
        _, f16 = gen("f16", ["--weights", "float16"])
        check(f16 == a, "pianoroll: --weights float16 differs from the default (auto)")
    else:
        check("float weights" in pa.stdout, f"pianoroll: weights not reported: {pa.stdout}")
        check(a == f32, "pianoroll: auto without F16C differs from --weights float32")

    # Primers: frames written out, or the opening of a MIDI file; held notes or re-struck ones.
    pn, _ = gen("pn", ["--primer-notes", "C4.E4.G4 rest G3.B3.D4", "--length", "20"])
    check("primer of 3 from --primer-notes" in pn.stdout, f"--primer-notes: {pn.stdout}")
    first = os.path.join(data, sorted(os.listdir(data))[0])
    held, _ = gen("held", ["--primer", first])
    again, _ = gen("reattack", ["--primer", first, "--reattack"])
    check(notes_in(again.stdout) > notes_in(held.stdout),
          f"--reattack did not strike held keys again: {held.stdout} / {again.stdout}")
    print("mido pianoroll reattack.mid:", parse_midi_with_mido(os.path.join(base, "reattack.mid")))
    for flags, word in ((["--primer-notes", "C4.E4.Q4"], "Q4"), (["--primer-notes", "C9"], "C9")):
        out = os.path.join(base, "bad.mid")
        expect_clean_error(generate(model, out, flags), "lstmidi-generate", f"pianoroll {flags}", word)
        check(not os.path.exists(out), f"pianoroll {flags} left a file")

    # Scoring: the last line is the NLL per frame, below what a model that knows nothing scores
    # (every key on with p = 1/2: 88 ln 2 = 61.0 nats per frame).
    p = run([ARGS.eval, "--model", model, "--data", data])
    expect_ok(p, "lstmidi-eval")
    last = p.stdout.strip().splitlines()[-1].split()
    check(last[0] == "nll_per_step", f"lstmidi-eval: last line {last}")
    nll = float(last[1])
    check(0 < nll < 88 * 0.6931, f"lstmidi-eval: nll per frame {nll} is no better than chance")
    e = lambda *extra: run([ARGS.eval, "--model", model, *extra])
    expect_clean_error(e("--data", os.path.join(base, "nope")), "lstmidi-eval", "eval: missing data", "nope")
    os.makedirs(os.path.join(base, "empty"))
    expect_clean_error(e("--data", os.path.join(base, "empty")), "lstmidi-eval", "eval: no files",
                       "no usable MIDI files")
    p = run([ARGS.eval, "--model", os.path.join(base, "nomodel"), "--data", data])
    expect_clean_error(p, "lstmidi-eval", "eval: missing model", "nomodel")

    # A setting the chosen mode does not read is refused, not ignored.
    for extra, word in ((["--embedding", "32"], "--embedding"), (["--min-count", "1"], "--min-count"),
                        (["--encoding", "pitch-only"], "--encoding"), (["--same-key"], "--same-key")):
        out = os.path.join(base, "x")
        p = run([ARGS.train, "--data", data, "--out", out, *roll, *extra])
        expect_clean_error(p, "lstmidi-train", f"pianoroll {extra}", word)
        check(not os.path.exists(out), f"pianoroll {extra}: a refused run created --out")
    for extra, word in ((["--frame-beats", "0.5"], "--frame-beats"),
                        (["--valid-data", data], "--valid-data"),
                        (["--input-dropout", "0.2"], "--input-dropout")):
        out = os.path.join(base, "x")
        expect_clean_error(train(data, out, extra), "lstmidi-train", f"tokens {extra}", word)
        check(not os.path.exists(out), f"tokens {extra}: a refused run created --out")


def case_train_determinism():
    base = workdir("train_determinism")
    data = copy_data(os.path.join(base, "data"))
    a, b = os.path.join(base, "a"), os.path.join(base, "b")
    expect_ok(train(data, a), "run a")
    expect_ok(train(data, b), "run b")
    for f in ("last.lstmidi", "model.lstmidi"):
        check(dump(os.path.join(a, f)) == dump(os.path.join(b, f)), f"{f}: same seed, different weights")
    for f in ("vocab.txt", "primers.txt"):
        check(open(os.path.join(a, f)).read() == open(os.path.join(b, f)).read(), f"{f} differs")


def case_default_primer():
    """With the default --min-count 2 some tokens of the saved primers (cut from the training
    pieces) are not in the vocabulary; generating from a saved primer must still work (rare
    events map to the nearest known one, as for --primer files)."""
    base = workdir("default_primer")
    data = copy_data(os.path.join(base, "data"), 8)
    model = os.path.join(base, "model")
    expect_ok(train(data, model, ["--min-count", "2"]), "training with --min-count 2")
    for seed in range(1, 9):
        p = generate(model, os.path.join(base, f"s{seed}.mid"), ["--seed", str(seed)])
        expect_ok(p, f"generate from a saved primer, --seed {seed}")
    # --saved-primer K: line K of primers.txt whatever the seed (greedy decoding, so only the
    # primer could make two seeds differ); a line it lacks is a usage error.
    lines = [l for l in open(os.path.join(model, "primers.txt")).read().splitlines() if l]
    written = []
    for seed in (1, 2):
        out = os.path.join(base, f"k{seed}.mid")
        expect_ok(generate(model, out, ["--seed", str(seed), "--saved-primer", str(len(lines) - 1),
                                        "--temperature", "0", "--no-picture"]),
                  f"--saved-primer --seed {seed}")
        with open(out, "rb") as f:
            written.append(f.read())
    check(written[0] == written[1], "--saved-primer K gave different files for two seeds")
    p = generate(model, os.path.join(base, "bad.mid"), ["--saved-primer", str(len(lines))])
    expect_clean_error(p, "lstmidi-generate", "--saved-primer past the last line", "saved primer")
    check(p.returncode == 2, f"--saved-primer past the last line: exit {p.returncode}, expected 2")
    p = generate(model, os.path.join(base, "bad.mid"), ["--saved-primer", "0", "--primer-notes", "C4"])
    expect_clean_error(p, "lstmidi-generate", "--saved-primer with --primer-notes", "--saved-primer")


# --- fault injection -------------------------------------------------------------------------
# A chorale is about 700 words of the events encoding: stride 28 keeps the run at about 900
# windows per epoch, a few seconds in Release and a few minutes under the sanitizers.
KILL_SETTINGS = ["--hidden", "128", "--embedding", "32", "--layers", "2", "--seq-len", "32",
                 "--batch", "8", "--stride", "28", "--epochs", "3", "--threads", "1",
                 "--checkpoint-every", "1", "--seed", "11", "--quiet", "--patience", "0"]
# The kills land 0.3 s or more into a run; on a fast machine three epochs take less than a
# second, so the run is lengthened (more epochs) until it lasts this long.
KILL_MIN_RUN_S = 2.5
KILL_MAX_EPOCHS = 48


def kill_settings(epochs):
    settings = list(KILL_SETTINGS)
    settings[settings.index("--epochs") + 1] = str(epochs)
    return settings


def check_loadable(model_dir, what):
    last = os.path.join(model_dir, "last.lstmidi")
    best = os.path.join(model_dir, "model.lstmidi")
    if os.path.exists(last):
        dump(last)
    if os.path.exists(best):
        p = generate(model_dir, os.path.join(model_dir, "..", "probe.mid"), ["--length", "10"])
        expect_ok(p, f"{what}: lstmidi-generate from the interrupted run")


def case_kill_resume():
    base = workdir("kill_resume")
    data = copy_data(os.path.join(base, "data"), 36)
    ref = os.path.join(base, "reference")
    epochs = int(KILL_SETTINGS[KILL_SETTINGS.index("--epochs") + 1])
    while True:
        shutil.rmtree(ref, ignore_errors=True)
        t0 = time.monotonic()
        p = run([ARGS.train, "--data", data, "--out", ref, *kill_settings(epochs)], timeout=600)
        expect_ok(p, "uninterrupted reference run")
        duration = time.monotonic() - t0
        print(f"reference run: {epochs} epochs, {duration:.1f} s")
        if duration >= KILL_MIN_RUN_S or epochs >= KILL_MAX_EPOCHS:
            break
        epochs = min(KILL_MAX_EPOCHS, max(2 * epochs, math.ceil(epochs * KILL_MIN_RUN_S / duration)))
    settings = kill_settings(epochs)
    rng = random.Random(int(os.environ.get("LSTMIDI_KILL_SEED", "20240611")))
    out = os.path.join(base, "killed")
    kills = 0
    resumed_from_checkpoint = 0
    for attempt in range(int(os.environ.get("LSTMIDI_KILLS", "8"))):
        resume = os.path.exists(os.path.join(out, "last.lstmidi"))
        cmd = [ARGS.train, "--data", data, "--out", out, *settings] + (["--resume"] if resume else [])
        resumed_from_checkpoint += resume
        proc = subprocess.Popen([str(c) for c in cmd], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, errors="replace")
        delay = rng.uniform(0.3, max(0.6, duration / 4))
        try:
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        so, se = proc.communicate()
        cp = subprocess.CompletedProcess(cmd, proc.returncode, so, se)
        if proc.returncode == -signal.SIGKILL:
            print(f"kill {kills} after {delay:.2f} s; files: {sorted(os.listdir(out)) if os.path.exists(out) else []}")
        else:
            expect_ok(cp, f"attempt {attempt} (not killed)")
            print(f"attempt {attempt} finished before the kill at {delay:.2f} s")
            break
        check_loadable(out, f"after kill {kills}")
    # Finish the run.
    resume = os.path.exists(os.path.join(out, "last.lstmidi"))
    p = run([ARGS.train, "--data", data, "--out", out, *settings] + (["--resume"] if resume else []),
            timeout=600)
    expect_ok(p, "final resume")
    check(kills >= 3, f"only {kills} kills landed; the run is too short to test interruption")
    for f in ("last.lstmidi", "model.lstmidi"):
        a, b = dump(os.path.join(ref, f)), dump(os.path.join(out, f))
        check(a == b, f"{f}: resumed run differs from the uninterrupted one\nreference:\n{a}\nresumed:\n{b}")
    leftovers = [f for f in os.listdir(out) if ".tmp-" in f]
    print(f"{kills} kills, {resumed_from_checkpoint} resumes; identical weights and Adam state; "
          f"temporary files left by kills: {len(leftovers)}")


def full_disk_run(base, handle_signal_for_it):
    """Trains one epoch, then resumes under a file-size limit (ulimit -f) smaller than the
    checkpoint, so the next save fails. Returns (process, files before, run dir)."""
    data = copy_data(os.path.join(base, "data"))
    out = os.path.join(base, "run")
    expect_ok(train(data, out, ["--epochs", "1"]), "first epoch")
    before = {f: dump(os.path.join(out, f)) for f in ("last.lstmidi", "model.lstmidi")}
    limit = os.path.getsize(os.path.join(out, "model.lstmidi")) // 2

    def limit_fsize():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
        if handle_signal_for_it:  # an ignored signal stays ignored across exec
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)

    p = train(data, out, ["--epochs", "3", "--resume"], preexec_fn=limit_fsize)
    g = run([ARGS.generate, "--model", out, "--out", os.path.join(base, "g.mid"), "--length", "3000"],
            preexec_fn=limit_fsize)
    return p, g, before, out


def case_disk_full():
    """A save that fails (file too large / disk full) stops the run with one clear error; the
    checkpoint from before stays intact and loadable and no temporary file is left. SIGXFSZ is
    ignored here as a well-behaved program would do itself (see case_sigxfsz)."""
    base = workdir("disk_full")
    p, g, before, out = full_disk_run(base, True)
    expect_clean_error(p, "lstmidi-train", "save under a file-size limit", "File too large")
    for f, d in before.items():
        check(dump(os.path.join(out, f)) == d, f"{f} changed although the save failed")
    check_loadable(out, "after the failed save")
    check(not [f for f in os.listdir(out) if ".tmp-" in f], "temporary files left after the failed save")
    no_crash(g, "generate under a file-size limit")
    if g.returncode != 0:
        # The MIDI file is written first, then its picture: the error names the one that failed
        # (which depends on the model file's size, from which the limit is derived), and a
        # MIDI file left behind is a complete one.
        err = expect_clean_error(g, "lstmidi-generate", "generate under a file-size limit")
        check("g.mid" in err or "g.svg" in err, f"the error should name g.mid or g.svg: {err}")
        if "g.mid" in err:
            check(not os.path.exists(os.path.join(base, "g.mid")), "a failed generate left a partial g.mid")
        else:
            check(not os.path.exists(os.path.join(base, "g.svg")), "a failed generate left a partial g.svg")
            parse_midi_with_mido(os.path.join(base, "g.mid"))
    check(not [f for f in os.listdir(base) if ".tmp-" in f], "generate left temporary files")


def case_sigxfsz():
    """The same with the default SIGXFSZ disposition: the programs must not die from the
    signal (their main() should ignore SIGXFSZ so that write() fails with EFBIG)."""
    base = workdir("sigxfsz")
    p, g, before, out = full_disk_run(base, False)
    check(p.returncode != -signal.SIGXFSZ,
          "lstmidi-train was killed by SIGXFSZ when a save hit the file-size limit; main() should "
          "ignore SIGXFSZ so that write() fails with EFBIG and the error is reported")
    check(g.returncode != -signal.SIGXFSZ, "lstmidi-generate was killed by SIGXFSZ")
    expect_clean_error(p, "lstmidi-train", "save under a file-size limit", "File too large")
    for f, d in before.items():
        check(dump(os.path.join(out, f)) == d, f"{f} changed although the save failed")


def case_corpus_cache():
    """The second run over a folder reads its pieces from the corpus cache and trains exactly the
    same weights; a changed file is read again; a corrupted cache is reported and rebuilt."""
    base = workdir("corpus_cache")
    data = copy_data(os.path.join(base, "data"), n=8)
    cache = os.path.join(base, "cache")
    runs = []
    for name in ("a", "b"):
        out = os.path.join(base, name)
        p = train(data, out, ["--epochs", "1", "--cache", cache])
        expect_ok(p, f"run {name}")
        runs.append((p, out))
    check(re.search(r"cache: 0 of 8 files from the corpus cache .* \(8 read and cached\)",
                    runs[0][0].stdout), f"first run: {runs[0][0].stdout}")
    check(re.search(r"cache: 8 of 8 files from the corpus cache", runs[1][0].stdout),
          f"second run: {runs[1][0].stdout}")
    for f in ("last.lstmidi", "model.lstmidi"):
        check(dump(os.path.join(runs[0][1], f)) == dump(os.path.join(runs[1][1], f)),
              f"{f}: the cached corpus trained other weights")
    # One file changed: read again, the other seven reused.
    first = sorted(os.listdir(data))[0]
    shutil.copy(os.path.join(ARGS.data, sorted(os.listdir(ARGS.data))[20]), os.path.join(data, first))
    st = os.stat(os.path.join(data, first))
    os.utime(os.path.join(data, first), ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    p = train(data, os.path.join(base, "c"), ["--epochs", "1", "--cache", cache])
    expect_ok(p, "run c")
    check(re.search(r"cache: 7 of 8 files .* \(1 read and cached\)", p.stdout), p.stdout)
    # A flipped byte: a warning, every file read again, the same weights as without a cache.
    [cfile] = [os.path.join(cache, f) for f in os.listdir(cache) if f.endswith(".cache")]
    flip_byte(cfile, os.path.getsize(cfile) // 2)
    p = train(data, os.path.join(base, "d"), ["--epochs", "1", "--cache", cache])
    expect_ok(p, "run d")
    check(re.search(r"warning: corpus cache: cache not used, rebuilt: .*checksum", p.stderr),
          f"a corrupted cache should be reported: {p.stderr}")
    check(re.search(r"cache: 0 of 8 files", p.stdout), p.stdout)
    e = train(data, os.path.join(base, "e"), ["--epochs", "1", "--cache", "none"])
    expect_ok(e, "run e without a cache")
    check("cache:" not in e.stdout, f"--cache none printed a cache line: {e.stdout}")
    for f in ("last.lstmidi", "model.lstmidi"):
        check(dump(os.path.join(base, "d", f)) == dump(os.path.join(base, "e", f)),
              f"{f}: a rebuilt cache trained other weights than no cache")


# --- data-parallel training over MPI (lstmidi-train-mpi) ----------------------------------------

def mpi_or_skip():
    """mpirun and lstmidi-train-mpi, or the test is reported as skipped (exit 77)."""
    if not ARGS.train_mpi:
        raise Skip("lstmidi-train-mpi was not built (no MPI found: Debian libopenmpi-dev)")
    mpirun = shutil.which("mpirun")
    if not mpirun:
        raise Skip("mpirun not found (Debian: openmpi-bin)")
    # OpenMPI refuses root unless told; a test machine often runs as root.
    os.environ.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
    os.environ.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
    if UNDER_ASAN:
        # OpenMPI's plugins keep memory they never free and are unloaded before LeakSanitizer
        # looks, so those leaks can be neither attributed nor suppressed: the MPI runs keep
        # AddressSanitizer and UBSan but not the leak check. (The data-parallel trainer's own
        # code is leak-checked in the doctests, where threads stand in for the processes.)
        os.environ["ASAN_OPTIONS"] = os.environ["ASAN_OPTIONS"] + ":detect_leaks=0"
    return mpirun


# Settings of the MPI tests: no dropout (each process draws its own masks, so only a model
# without them can match one process bit for bit up to summation order), 8 windows per batch.
MPI_SETTINGS = ["--dropout", "0", "--batch", "8", "--cache", "none"]


def train_mpi(mpirun, n, data, out, extra=(), timeout=300, **kw):
    return run([mpirun, "-np", str(n), "--oversubscribe", ARGS.train_mpi, "--data", data,
                "--out", out, *merged(merged(TINY, MPI_SETTINGS), extra)], timeout=timeout, **kw)


def param_values(path):
    p = run([ARGS.dump, path, "--values"])
    expect_ok(p, f"dump_params --values {path}")
    return [float(x) for x in p.stdout.split()]


def history_rows(run_dir):
    with open(os.path.join(run_dir, "history.csv")) as f:
        lines = [l.strip().split(",") for l in f if l.strip()]
    head = lines[0]
    return [dict(zip(head, row)) for row in lines[1:]]


def case_mpi_equivalence():
    """Two processes with a global batch of 8 train the weights one process trains with a
    batch of 8, up to float summation order.

    Tolerance: the two runs' gradients differ only in the order of float sums; over n <= 2^11
    scored positions the relative difference is at most about n * 2^-24 = 1.2e-4, and far less in
    practice. Adam turns a relative gradient change d into an update change of at most d times
    its step (an element's step is at most lr (1 - beta1) / sqrt(1 - beta2) = 3.16 lr), so after
    S steps an element whose gradient stands above its rounding noise differs by at most
    S * 3.16 * lr * 1.2e-4. The test requires the median element to be within that, and every
    element within the hard bound S * 2 * 3.16 * lr (an element whose gradient is rounding noise
    may move the other way). A wrong share (a window trained twice or missed) or a wrong scale
    moves the median element by about lr per step, a thousand times more; the per-epoch loss
    and gradient norm must agree to 1e-4 relative as well."""
    mpirun = mpi_or_skip()
    base = workdir("mpi_equivalence")
    data = copy_data(os.path.join(base, "data"), n=6)
    one, two = os.path.join(base, "one"), os.path.join(base, "two")
    extra = ["--epochs", "2"]
    expect_ok(train(data, one, MPI_SETTINGS + extra), "one process")
    p = train_mpi(mpirun, 2, data, two, extra)
    expect_ok(p, "two processes")
    check("data:" in p.stdout and p.stdout.count("data:") == 1,
          f"only process 0 should print: {p.stdout}")
    w1, w2 = param_values(os.path.join(one, "last.lstmidi")), param_values(os.path.join(two, "last.lstmidi"))
    check(len(w1) == len(w2), "the two runs trained models of different sizes")
    h1, h2 = history_rows(one), history_rows(two)
    check(len(h1) == len(h2) == 2, f"two epochs each: {h1} / {h2}")
    batches = int(re.search(r"(\d+) batches per epoch", p.stdout).group(1))
    steps, lr = 2 * batches, 2e-3
    diffs = sorted(abs(a - b) for a, b in zip(w1, w2))
    median, worst = diffs[len(diffs) // 2], diffs[-1]
    typical_bound = steps * 3.16 * lr * 1.2e-4
    hard_bound = steps * 2 * 3.16 * lr
    print(f"{len(w1)} weights, {steps} steps: median |diff| {median:.3g} (bound {typical_bound:.3g}), "
          f"max {worst:.3g} (bound {hard_bound:.3g})")
    check(median <= typical_bound, f"median weight difference {median} above {typical_bound}")
    check(worst <= hard_bound, f"largest weight difference {worst} above {hard_bound}")
    for a, b in zip(h1, h2):
        for key in ("train_loss", "grad_norm", "valid_loss"):
            if key in a and a[key] not in ("", "nan"):
                x, y = float(a[key]), float(b[key])
                check(abs(x - y) <= 1e-4 * max(abs(x), 1e-12),
                      f"epoch {a.get('epoch')}: {key} {x} (one process) vs {y} (two)")


def case_mpi_resume():
    """Two processes resume exactly: stopped mid-run (a time budget) and continued, they end
    with the weights, Adam state and Rng of a run never stopped; a run also resumes with another
    number of processes (the same model, not the same bits)."""
    mpirun = mpi_or_skip()
    base = workdir("mpi_resume")
    data = copy_data(os.path.join(base, "data"), n=6)
    whole, parts = os.path.join(base, "whole"), os.path.join(base, "parts")
    expect_ok(train_mpi(mpirun, 2, data, whole, ["--epochs", "3"]), "uninterrupted")
    expect_ok(train_mpi(mpirun, 2, data, parts, ["--epochs", "1"]), "first epoch")
    p = train_mpi(mpirun, 2, data, parts, ["--epochs", "3", "--resume", "--time-budget", "0.3"])
    expect_ok(p, "resumed under a time budget")
    p = train_mpi(mpirun, 2, data, parts, ["--epochs", "3", "--resume", "--time-budget", "0"])
    expect_ok(p, "resumed to the end")
    for f in ("last.lstmidi", "model.lstmidi"):
        check(dump(os.path.join(whole, f)) == dump(os.path.join(parts, f)),
              f"{f}: a resumed two-process run differs from an uninterrupted one")
    # Two processes, then one: it continues (another summation order: other bits).
    other = os.path.join(base, "other")
    expect_ok(train_mpi(mpirun, 2, data, other, ["--epochs", "1"]), "two processes, epoch 1")
    p = run([ARGS.train, "--out", other, "--resume", "--epochs", "2"], timeout=300)
    expect_ok(p, "resumed by one process")
    check(len(history_rows(other)) == 2, "the one-process resume did not finish epoch 2")


def child_pids(pid):
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.append(int(d))
            except (OSError, IndexError, ValueError):
                pass
    return out


def case_mpi_faults():
    """A process that dies ends the job (no process left waiting in a sum); an error on every
    process is one clear error and a failure exit."""
    mpirun = mpi_or_skip()
    base = workdir("mpi_faults")
    data = copy_data(os.path.join(base, "data"), n=6)
    p = train_mpi(mpirun, 2, os.path.join(base, "missing"), os.path.join(base, "r0"), timeout=120)
    check(p.returncode != 0, f"missing data should fail: {describe(p)}")
    check("lstmidi-train: error:" in p.stderr and "no such file" in p.stderr,
          f"the error should be printed: {describe(p)}")
    # Kill process 1 with SIGKILL in the middle of training.
    out = os.path.join(base, "killed")
    cmd = [mpirun, "-np", "2", "--oversubscribe", ARGS.train_mpi, "--data", data, "--out", out,
           *merged(merged(TINY, MPI_SETTINGS), ["--epochs", "100000", "--patience", "0"])]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    victim = None
    deadline = time.time() + 60
    while victim is None and time.time() < deadline and proc.poll() is None:
        time.sleep(0.5)
        for c in child_pids(proc.pid):
            try:
                with open(f"/proc/{c}/environ", "rb") as f:
                    env = f.read().split(b"\0")
            except OSError:
                continue
            if b"OMPI_COMM_WORLD_RANK=1" in env and os.path.exists(os.path.join(out, "settings.ini")):
                victim = c
    check(victim is not None, "could not find process 1 of the job")
    time.sleep(1.0)
    try:  # the run has no epoch limit nor early stopping: it is still training
        os.kill(victim, signal.SIGKILL)
    except ProcessLookupError:
        proc.kill()
        _, err = proc.communicate()
        raise Failure(f"process 1 ended before it was killed: {err[-2000:]}")
    try:
        _, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise Failure("the job hung after process 1 was killed")
    check(proc.returncode != 0, "the job should fail when a process dies")
    # Process 0 names the dead process itself (its PeerWatch), before mpirun ends the job.
    check(re.search(r"lstmidi-train: error: process 1 of 2 \(pid %d\) ended before the run did"
                    % victim, err), f"process 0 should say which process died: {err[-2000:]}")


def case_mpi_stop():
    """SIGTERM to every process stops all of them after the same step; process 0 saves the
    checkpoint and names the MPI command that continues the run, and that command does."""
    mpirun = mpi_or_skip()
    base = workdir("mpi_stop")
    data = copy_data(os.path.join(base, "data"), n=6)
    out = os.path.join(base, "run")
    cmd = [mpirun, "-np", "2", "--oversubscribe", ARGS.train_mpi, "--data", data, "--out", out,
           *merged(merged(TINY, MPI_SETTINGS), ["--epochs", "100000", "--patience", "0"])]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ranks = {}
    deadline = time.time() + 60
    while len(ranks) < 2 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.5)
        if not os.path.exists(os.path.join(out, "settings.ini")):
            continue
        for c in child_pids(proc.pid):
            try:
                with open(f"/proc/{c}/environ", "rb") as f:
                    env = f.read().split(b"\0")
            except OSError:
                continue
            for r in (0, 1):
                if b"OMPI_COMM_WORLD_RANK=%d" % r in env:
                    ranks[r] = c
    check(len(ranks) == 2, f"could not find both processes of the job: {ranks}")
    time.sleep(1.0)  # training (the run has no epoch limit nor early stopping)
    for pid in ranks.values():  # what Ctrl-C on mpirun does, without mpirun's SIGKILL a second later
        os.kill(pid, signal.SIGTERM)
    try:
        out_text, err = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise Failure("the job hung after SIGTERM")
    check(proc.returncode != 0, "a stopped job ends with a failure status")
    m = re.search(r"continue it with: (.*) --out (\S+) --resume", err)
    check(m, f"process 0 should say how to continue: {err[-2000:]}")
    check(m.group(1) == "mpirun -np 2 lstmidi-train-mpi",
          f"the command to continue should be the MPI one: {m.group(0)}")
    check(os.path.exists(os.path.join(out, "last.lstmidi")), "no checkpoint after the stop")
    e = re.search(r"saved in \S+ \((?:after epoch (\d+)|epoch (\d+), batch)", err)
    check(e, f"process 0 should say where the run stopped: {err[-2000:]}")
    epochs = int(e.group(1) or e.group(2)) + 1  # finish the epoch it stopped in, or one more
    p = train_mpi(mpirun, 2, data, out, ["--epochs", str(epochs), "--resume"])
    expect_ok(p, "the named command continues the run")
    check("resuming at epoch" in p.stdout, f"the run should resume: {p.stdout[-2000:]}")
    # A spent time budget: the message to train on names the MPI command too.
    p = train_mpi(mpirun, 2, data, out, ["--epochs", str(epochs + 5), "--resume",
                                         "--time-budget", "0.001"])
    expect_ok(p, "resumed with a spent time budget")
    check(f"to train on: mpirun -np 2 lstmidi-train-mpi --out {out} --resume" in p.stdout,
          f"the time budget's message should name the MPI command: {p.stdout[-2000:]}")


def case_big_corpus():
    """~2000 files, ~10% of them broken: every broken one is reported once, training succeeds."""
    base = workdir("big_corpus")
    data = os.path.join(base, "data")
    os.makedirs(os.path.join(data, "sub"))
    srcs = [open(os.path.join(ARGS.data, f), "rb").read()
            for f in sorted(os.listdir(ARGS.data))[:10]]
    rng = random.Random(5)
    bad = 0
    total = int(os.environ.get("LSTMIDI_BIG_CORPUS", "2000"))
    for i in range(total):
        src = srcs[i % len(srcs)]
        folder = data if i % 3 else os.path.join(data, "sub")
        if i % 10 == 7:
            kind = (i // 10) % 5
            if kind == 0:
                blob = src[: rng.randrange(1, len(src) - 1)]           # truncated
            elif kind == 1:
                blob = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 400)))  # garbage
            elif kind == 2:
                blob = b""                                             # empty
            elif kind == 3:
                blob = src[:8] + struct.pack(">H", 2) + src[10:]       # format 2
            else:
                blob = src[:14]                                        # header only
            name = f"bad_{i:05d}.mid"
            bad += 1
        else:
            # A valid variant: a copy with the note pitches of one track moved by a semitone
            # would need a parser; instead vary only the file name and, for some, the tempo.
            blob = src
            name = f"ok_{i:05d}.mid"
        open(os.path.join(folder, name), "wb").write(blob)
    open(os.path.join(data, "notes.txt"), "w").write("not midi, must be ignored\n")
    t0 = time.monotonic()
    p = run([ARGS.train, "--data", data, "--out", os.path.join(base, "run"), "--hidden", "8",
             "--embedding", "4", "--layers", "1", "--seq-len", "16", "--stride", "4096",
             "--batch", "64", "--epochs", "1", "--threads", "1", "--quiet"], timeout=600)
    expect_ok(p, "training on the big corpus")
    warnings = [l for l in p.stderr.splitlines() if l.startswith("warning: ")]
    bad_named = sorted({re.search(r"bad_\d+\.mid", l).group(0) for l in warnings if "bad_" in l})
    check(len(bad_named) == bad, f"expected a warning for each of the {bad} broken files, got {len(bad_named)}")
    check(len(warnings) == bad, f"expected exactly {bad} warning lines, got {len(warnings)}")
    check(f"skipped {bad} unreadable file(s)" in p.stderr, f"missing the skipped count: {describe(p)}")
    check("ok_" not in "".join(warnings), "a valid file was reported as broken")
    m = re.search(r"data: (\d+) pieces", p.stdout)
    check(m and int(m.group(1)) == total - bad, f"expected {total - bad} pieces: {p.stdout[:400]}")
    print(f"{total} files, {bad} broken, all reported; {time.monotonic() - t0:.1f} s")


def case_limits():
    """The limits in docs/limits.md that the programs enforce at their command line."""
    base = workdir("limits")
    data, model = trained_model(base)
    out = os.path.join(base, "o.mid")
    # The longest --length (4000 events) stays within write_midi's 20000-note cap for chords of up
    # to 5 notes; should a model write bigger chords, that must be a clean error, not a crash.
    p = generate(model, out, ["--length", "4000"], timeout=600)
    if p.returncode != 0:
        expect_clean_error(p, "lstmidi-generate", "--length 4000", "20000")
    else:
        expect_ok(p, "--length 4000")
    expect_ok(generate(model, out, ["--length", "2000"]), "--length 2000")
    expect_clean_error(generate(model, out, ["--length", "4001"]), "lstmidi-generate", "--length 4001", "--length")
    # A MIDI file just over the 4 MiB guard limit: skipped by the trainer, refused as a primer.
    big = os.path.join(base, "big")
    os.makedirs(big)
    src = open(os.path.join(data, sorted(os.listdir(data))[0]), "rb").read()
    open(os.path.join(big, "huge.mid"), "wb").write(src + b"\0" * ((4 << 20) + 1 - len(src)))
    shutil.copy(os.path.join(data, sorted(os.listdir(data))[0]), big)
    p = train(big, os.path.join(base, "run-big"))
    expect_ok(p, "training next to a >4 MiB file")
    check("huge.mid" in p.stderr and "limit" in p.stderr, f"the >4 MiB file was not reported: {describe(p)}")
    p = generate(model, out, ["--primer", os.path.join(big, "huge.mid")])
    expect_clean_error(p, "lstmidi-generate", "a >4 MiB primer", "limit")
    # A vocabulary above 64 MiB is refused before it is read.
    vbig = os.path.join(base, "vbig")
    shutil.copytree(model, vbig)
    with open(os.path.join(vbig, "vocab.txt"), "ab") as f:
        f.truncate((64 << 20) + 1)
    expect_clean_error(generate(vbig, out), "lstmidi-generate", "vocab.txt above 64 MiB", "limit")
    # Model-size flags at their edges.
    for flags, word in ((["--layers", "17"], "--layers"), (["--hidden", "4097"], "--hidden"),
                        (["--embedding", "4097"], "--embedding"), (["--seq-len", "1"], "--seq-len")):
        p = train(data, os.path.join(base, "x"), flags)
        expect_clean_error(p, "lstmidi-train", f"{flags}", word)


# ---------------------------------------------------------------------------------------------
# lstmidi-eval --generated DIR --reference DIR: music statistics of two folders
# (include/lstmidi/music/statistics.hpp, docs/statistics.md).
STAT_FEATURES = ("pitch_range", "pitch_classes_used", "polyphony", "in_scale_rate",
                 "pitch_class_entropy", "empty_beat_rate", "mean_duration", "mean_ioi",
                 "top_voice_interval", "velocity_spread", "repetition")


def stats_table(stdout):
    """{feature: (generated mean, reference mean, overlap)} and the mean_overlap line's value."""
    rows, mean = {}, None
    for line in stdout.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[0] in STAT_FEATURES:
            rows[parts[0]] = tuple(float(x) for x in parts[1:])
        elif len(parts) == 2 and parts[0] == "mean_overlap":
            mean = float(parts[1])
    return rows, mean


def case_eval_compare():
    """Chorales valid against train: a table of every feature, a high mean overlap; a folder
    against itself overlaps fully; missing or empty folders and mixed-up flags are clean errors."""
    base = workdir("eval_compare")
    train_dir = ARGS.data
    valid_dir = os.path.join(os.path.dirname(os.path.normpath(ARGS.data)), "valid")
    if not os.path.isdir(valid_dir):
        raise Skip(f"no valid split beside {train_dir}")
    p = run([ARGS.eval, "--generated", valid_dir, "--reference", train_dir])
    expect_ok(p, "lstmidi-eval --generated --reference")
    rows, mean = stats_table(p.stdout)
    for f in STAT_FEATURES:
        check(f in rows, f"lstmidi-eval compare: no row for {f}: {p.stdout}")
    for f, (_, _, ov) in rows.items():
        check(0 <= ov <= 1, f"lstmidi-eval compare: overlap of {f} is {ov}: {p.stdout}")
    last = p.stdout.strip().splitlines()[-1].split()
    check(last[0] == "mean_overlap", f"lstmidi-eval compare: last line {last}")
    check(mean is not None and 0.5 < mean <= 1,
          f"lstmidi-eval compare: chorales valid vs train mean_overlap {mean}: {p.stdout}")
    check(abs(mean - sum(r[2] for r in rows.values()) / len(STAT_FEATURES)) < 1e-3,
          f"lstmidi-eval compare: mean_overlap is not the mean of the overlaps: {p.stdout}")
    print(f"chorales valid vs train: mean_overlap {mean}")

    # A folder against a copy of itself: same means, every overlap ~1; the grid flag works.
    copy = copy_data(os.path.join(base, "copy"), n=12)
    p = run([ARGS.eval, "--generated", copy, "--reference", copy, "--steps-per-beat", "2"])
    expect_ok(p, "lstmidi-eval compare a folder with itself")
    rows, mean = stats_table(p.stdout)
    check(len(rows) == len(STAT_FEATURES) and mean is not None and mean > 0.99,
          f"lstmidi-eval compare: a folder against itself: {p.stdout}")
    check(all(g == r for g, r, _ in rows.values()), f"self-comparison means differ: {p.stdout}")

    # A broken file is a warning that names it, not an error.
    mixed = copy_data(os.path.join(base, "mixed"), n=3)
    with open(os.path.join(mixed, "broken.mid"), "wb") as f:
        f.write(b"MThd\x00\x00\x00\x06garbage")
    p = run([ARGS.eval, "--generated", mixed, "--reference", train_dir])
    expect_ok(p, "lstmidi-eval compare with a broken file")
    check(any(l.startswith("warning: ") and "broken.mid" in l for l in p.stderr.splitlines()),
          f"the broken file is not named in a warning: {describe(p)}")
    check("generated: 3 pieces" in p.stdout, f"expected 3 usable pieces: {p.stdout}")

    # Errors: a missing folder (named), an empty one, one of the pair, flags of the other mode.
    nope = os.path.join(base, "nope-folder")
    for args in (["--generated", nope, "--reference", train_dir],
                 ["--generated", valid_dir, "--reference", nope]):
        p = run([ARGS.eval, *args])
        expect_clean_error(p, "lstmidi-eval", f"compare {args}", "nope-folder")
    empty = os.path.join(base, "empty")
    os.makedirs(empty)
    p = run([ARGS.eval, "--generated", empty, "--reference", train_dir])
    err = expect_clean_error(p, "lstmidi-eval", "compare an empty folder", "no usable MIDI files")
    check(empty in err, f"the error should name the empty folder: {err}")
    usage = (
        (["--generated", valid_dir], "--reference"),
        (["--reference", train_dir], "--generated"),
        (["--generated", valid_dir, "--reference", train_dir, "--model", base], "--model"),
        (["--generated", valid_dir, "--reference", train_dir, "--chunk", "8"], "--chunk"),
        (["--model", base, "--data", train_dir, "--steps-per-beat", "2"], "--steps-per-beat"),
        (["--model", base], "--data"),
        (["--data", train_dir], "--model"),
        ([], "--generated"),
    )
    for args, word in usage:
        p = run([ARGS.eval, *args])
        expect_clean_error(p, "lstmidi-eval", f"usage {args}", word)
        check(p.returncode == 2, f"usage {args}: expected exit status 2: {describe(p)}")


# ---------------------------------------------------------------------------------------------
# The events encoding end to end: instruments, velocities, tempo, metre and key from reading to
# the written file, --instruments, --num-outputs, --same-key, and the round-trip mode of
# lstmidi-eval checked note by note with mido against the fixtures' own note lists.

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "music", "fixtures", "multitrack")


def mido_or_skip():
    try:
        import mido
        return mido
    except ImportError:
        raise Skip("python3-mido is not installed (scripts/install-deps.sh installs it)")


def mido_song(path):
    """(notes, metas) of a file read by mido: notes as (onset, length, pitch, program, drum,
    velocity // 4) in beats; metas as lists of tempos (us), time signatures, key names."""
    mido = mido_or_skip()
    mid = mido.MidiFile(path)
    notes, tempos, sigs, keys = [], [], [], []
    for track in mid.tracks:
        tick, program, sounding = 0, {}, {}
        for m in track:
            tick += m.time
            beat = tick / mid.ticks_per_beat
            if m.type == "set_tempo":
                tempos.append((beat, m.tempo))
            elif m.type == "time_signature":
                sigs.append((beat, m.numerator, m.denominator))
            elif m.type == "key_signature":
                keys.append((beat, m.key))
            elif m.type == "program_change":
                program[m.channel] = m.program
            elif m.type == "note_on" and m.velocity > 0:
                sounding[(m.channel, m.note)] = (beat, m.velocity, program.get(m.channel, 0))
            elif m.type in ("note_on", "note_off") and (m.channel, m.note) in sounding:
                on, vel, prog = sounding.pop((m.channel, m.note))
                drum = m.channel == 9
                notes.append((on, beat - on, m.note, 0 if drum else prog, drum, vel // 4))
    return sorted(notes), (tempos, sigs, keys)


def case_events():
    import json
    mido_or_skip()
    base = workdir("events")
    data = copy_data(os.path.join(base, "data"))
    for f in ("band.mid", "two_parts_same_program.mid"):
        shutil.copy(os.path.join(FIXTURES, f), os.path.join(data, f))
    model = os.path.join(base, "model")
    p = train(data, model, ["--epochs", "1"])
    expect_ok(p, "training an events model on chorales + a band + a folk tune")
    check("encoding events" in open(os.path.join(model, "settings.ini")).read().replace("=", " ").replace('"', ""),
          "settings.ini does not record the events encoding")
    vocab = open(os.path.join(model, "vocab.txt")).read().split()
    for word in ("prog:73", "prog:33", "drums", "drum:36", "ts:3/4", "ts:6/8", "prog:0/3"):
        check(word in vocab, f"vocabulary lacks {word}")

    # A primer with a tempo, metre and key: all three reach the written file; drums are kept.
    out = os.path.join(base, "band.mid")
    p = generate(model, out, ["--primer", os.path.join(FIXTURES, "band.mid"), "--primer-length", "60",
                              "--length", "80", "--seed", "3"])
    expect_ok(p, "generate from the band primer")
    check("140 bpm" in p.stdout and "3/4" in p.stdout and "E-flat major" in p.stdout,
          f"the primer's tempo, metre and key are not reported: {p.stdout}")
    notes, (tempos, sigs, keys) = mido_song(out)
    check(tempos and tempos[0] == (0.0, 428571), f"tempo of the written file: {tempos}")
    check(sigs and sigs[0][1:] == (3, 4), f"time signature of the written file: {sigs}")
    check(keys and keys[0][1] == "Eb", f"key of the written file: {keys}")
    programs = {n[3] for n in notes if not n[4]}
    check({73, 33} <= programs, f"the flute and bass of the primer are missing: {programs}")
    check(any(n[4] for n in notes), "the primer's drums are missing")
    check(len({n[5] for n in notes}) > 3, "velocities were flattened")

    # --instruments: only the allowed instruments play what is generated.
    p = generate(model, out, ["--primer-notes", "bar ts:3/4 pos:0 prog:33 vel:20 C3 len:4",
                              "--instruments", "33,drums", "--length", "150", "--seed", "4"])
    expect_ok(p, "--instruments 33,drums")
    notes, _ = mido_song(out)
    check(notes and {n[3] for n in notes if not n[4]} <= {33},
          f"--instruments 33,drums: other programs play: {sorted({n[3] for n in notes})}")
    p = generate(model, out, ["--instruments", "5"])
    expect_clean_error(p, "lstmidi-generate", "--instruments the model does not know", "knows none")
    for bad in ("128", "piano", "", "3/99", "1,,2"):
        p = generate(model, out, ["--instruments", bad])
        expect_clean_error(p, "lstmidi-generate", f"--instruments {bad!r}")
    p = generate(model, out, ["--program", "19"])
    expect_clean_error(p, "lstmidi-generate", "--program with an events model", "--instruments")
    check(p.returncode == 2, f"--program with an events model: exit {p.returncode}, expected 2")
    p = generate(model, out, ["--time-signature", "3/5"])
    expect_clean_error(p, "lstmidi-generate", "--time-signature 3/5", "3/5")
    p = generate(model, out, ["--time-signature", "5/4", "--tempo", "77", "--seed", "2"])
    expect_ok(p, "--time-signature 5/4 --tempo 77")
    _, (tempos, sigs, _) = mido_song(out)
    check(sigs and sigs[0][1:] == (5, 4) and tempos[0][1] == round(60e6 / 77),
          f"--time-signature / --tempo not written: {sigs} {tempos}")

    # --num-outputs: seed .. seed+N-1, each the same file as a run with that seed.
    out = os.path.join(base, "many.mid")
    p = generate(model, out, ["--num-outputs", "3", "--seed", "10", "--length", "60"])
    expect_ok(p, "--num-outputs 3")
    for seed in (10, 11, 12):
        path = os.path.join(base, f"many-{seed}.mid")
        check(os.path.exists(path) and os.path.exists(path[:-4] + ".svg"), f"{path} missing")
        single = os.path.join(base, f"one-{seed}.mid")
        expect_ok(generate(model, single, ["--seed", str(seed), "--length", "60"]), f"seed {seed} alone")
        check(open(single, "rb").read() == open(path, "rb").read(), f"--num-outputs seed {seed} differs")
    check(not os.path.exists(out), "--num-outputs 3 also wrote the plain --out name")
    p = generate(model, out, ["--num-outputs", "2", "--picture", os.path.join(base, "p.svg")])
    expect_clean_error(p, "lstmidi-generate", "--num-outputs with --picture", "--picture")

    # --same-key: the output goes back to the primer's key and says so.
    sk = os.path.join(base, "samekey")
    expect_ok(train(data, sk, ["--epochs", "1", "--same-key"]), "training with --same-key")
    p = generate(sk, out, ["--primer", os.path.join(FIXTURES, "band.mid"), "--length", "40"])
    expect_ok(p, "generate from a same-key model")
    check("moved back to the primer's key" in p.stdout, f"no transposition note: {p.stdout}")

    # Flags of the events encoding are refused with the others.
    p = train(data, os.path.join(base, "x"), ["--encoding", "durations", "--instruments", "programs"])
    expect_clean_error(p, "lstmidi-train", "--instruments with --encoding durations", "--encoding events")
    # A durations model still takes --program.
    dur = os.path.join(base, "durations")
    expect_ok(train(data, dur, ["--epochs", "1", "--encoding", "durations"]), "training a durations model")
    expect_ok(generate(dur, out, ["--program", "19", "--length", "20"]), "--program with a durations model")
    notes, _ = mido_song(out)
    check(notes and {n[3] for n in notes} == {19}, f"--program 19 not written: {sorted({n[3] for n in notes})}")

    # Round trip: every fixture, written and checked with mido against the notes its generator
    # wrote (programs, drums, velocity bins, onsets and lengths in beats).
    rt = os.path.join(base, "rt")
    p = run([ARGS.eval, "--round-trip", FIXTURES, "--out", rt])
    expect_ok(p, "lstmidi-eval --round-trip")
    check(p.stdout.strip().splitlines()[-1] == "round_trip_exact 1.000000", f"round trip: {p.stdout}")
    for name in sorted(os.listdir(FIXTURES)):
        if not name.endswith(".json"):
            continue
        want = json.load(open(os.path.join(FIXTURES, name)))
        expected = sorted((n["onset_beats"], n["duration_beats"], n["pitch"], 0 if n["drum"] else n["program"],
                           n["drum"], n["velocity"] // 4) for n in want["notes"])
        got, (tempos, sigs, keys) = mido_song(os.path.join(rt, name[:-5] + ".mid"))
        check(got == expected, f"{name}: round-tripped notes differ from the fixture's")
        check([s[1:] for s in sigs] == [(s["numerator"], s["denominator"]) for s in want["time_signatures"]]
              or not want["time_signatures"], f"{name}: time signatures {sigs}")
        check(len(keys) == len(want["key_signatures"]), f"{name}: key signatures {keys}")
    p = run([ARGS.eval, "--round-trip", FIXTURES])
    expect_clean_error(p, "lstmidi-eval", "--round-trip without --out", "--out")
    p = run([ARGS.eval, "--round-trip", FIXTURES, "--out", FIXTURES])
    expect_clean_error(p, "lstmidi-eval", "--round-trip onto its own input", "input folder")
    check(p.returncode == 2, f"--round-trip onto its input: exit {p.returncode}")


def case_first_program():
    """lstmidi-first, the learner's first program: its gradient check passes, the loss falls, it
    writes back the sentence it trained on (the default one and another), and it refuses a
    sentence too short to predict anything."""
    if not ARGS.first:
        raise Skip("lstmidi-first was not built")
    for sentence in (None, "hello world, hello lstm"):
        p = run([ARGS.first] + ([sentence] if sentence else []))
        expect_ok(p, f"lstmidi-first {sentence or ''}")
        m = re.search(r"gradient check: (\d+) of (\d+) parameters, worst relative error (\S+)",
                      p.stdout)
        check(m is not None, f"no gradient check line: {describe(p)}")
        check(int(m.group(1)) > 100 and float(m.group(3)) < 1e-5 and "(ok)" in p.stdout,
              f"gradient check: {m.group(0)}")
        losses = [float(x) for x in re.findall(r"^iteration \d+  loss (\S+)$", p.stdout, re.M)]
        check(len(losses) >= 2 and losses[-1] < losses[0] / 100,
              f"the loss did not fall a hundredfold: {losses}")
        said = dict(re.findall(r"^(sentence|it writes): (.*)$", p.stdout, re.M))
        check(sentence is None or said.get("sentence") == sentence, f"sentence: {said}")
        check(said.get("it writes") == said.get("sentence") and "learned the sentence" in p.stdout,
              f"did not write the sentence back: {describe(p)}")
    p = run([ARGS.first, "x"])
    expect_clean_error(p, "lstmidi-first", "a one-character sentence", "two characters")


def case_planted_bug():
    """lstmidi-planted-bug, the exercise program: no block fails without a bug, the one-step
    report of every planted bug flags exactly the blocks the library's own test finds (here: at
    least one and not all), every block fails over three steps, and bad arguments are refused."""
    if not ARGS.planted:
        raise Skip("lstmidi-planted-bug was not built")
    p = run([ARGS.planted, "0"])
    expect_ok(p, "lstmidi-planted-bug 0")
    check("<-- wrong" not in p.stdout and "every gradient is right" in p.stdout,
          f"the correct backward pass is reported wrong: {describe(p)}")
    for bug in range(1, 7):
        p = run([ARGS.planted, str(bug)])
        expect_ok(p, f"lstmidi-planted-bug {bug}")
        one, three = p.stdout.split("T = 3 steps")
        wrong_one = re.findall(r"^  (\S+) .*<-- wrong$", one, re.M)
        wrong_three = re.findall(r"^  (\S+) .*<-- wrong$", three, re.M)
        check(0 < len(wrong_one) < 14 and len(wrong_three) == 14,
              f"bug {bug}: one step flags {wrong_one}, three steps {wrong_three}")
        check("some gradients are wrong" in p.stdout, f"bug {bug}: {describe(p)}")
    for bad in (["7"], ["-1"], ["x"], []):
        p = run([ARGS.planted] + bad)
        expect_clean_error(p, "lstmidi-planted-bug", f"lstmidi-planted-bug {bad}", "bug number")


def prepare(args):
    # The programs' corpus cache goes under the work folder, not the user's home.
    os.environ["XDG_CACHE_HOME"] = os.path.join(args.work, "xdg-cache")
    for name in ("train", "generate", "eval", "dump", "data", "chars", "train_mpi"):
        if getattr(args, name):
            setattr(args, name, os.path.abspath(getattr(args, name)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("case")
    ap.add_argument("--train", required=True)
    ap.add_argument("--generate", required=True)
    ap.add_argument("--dump", required=True)
    ap.add_argument("--eval", required=True)
    ap.add_argument("--chars")
    ap.add_argument("--data", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--first", default="")
    ap.add_argument("--planted", default="")
    ap.add_argument("--train-mpi", default="")
    return main_for(globals(), ap, prepare)


if __name__ == "__main__":
    sys.exit(main())
