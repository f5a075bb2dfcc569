#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Checks that every header under include/lstmidi includes only the layers docs/architecture.md
allows it, and that every header's #include lines name headers that exist.

The rules (folder -> folders it may include besides itself) are the table of
docs/architecture.md, "Layers"; a header of music/ that joins the data to a trained model is
named in JOINS and may also include the model layer.

Usage: check_layers.py INCLUDE_DIR   (exit 0: all allowed; 1: a list of violations)
"""
import pathlib
import re
import sys

ALLOWED = {
    "core": set(),
    "data": {"core"},
    "io": {"core"},
    "nn": {"core"},
    "optim": {"core"},
    "debug": {"core"},
    "model": {"core", "data", "io", "nn", "optim"},
    "train": {"core", "data", "io", "model", "nn", "optim"},
    "sample": {"core", "model"},
    "text": {"core", "data", "io"},
    "music": {"core", "data", "io"},
}
MODEL_LAYER = {"model", "nn", "optim", "train", "sample"}
# Headers above the data and the model that join the two (scoring, model folders, generation).
JOINS = {
    "music/metrics.hpp",
    "music/model_dir.hpp",
    "music/model_metadata.hpp",
    "music/saved_primers.hpp",
    "music/generate_piece.hpp",
    "music/piece.hpp",
    "music/roll_model.hpp",
    "music/run_files.hpp",
    "music/run_report.hpp",
    "music/train_settings.hpp",
    "music/train_run.hpp",
    "music/pianoroll.hpp",
    "music/music.hpp",
    "text/char_model.hpp",
}
INCLUDE = re.compile(r'^\s*#\s*include\s+"lstmidi/([^"]+)"', re.M)


def violations(root):
    out = []
    headers = sorted(root.glob("lstmidi/*/*.hpp"))
    if not headers:
        return [f"no headers under {root}/lstmidi"]
    for h in headers:
        rel = h.relative_to(root / "lstmidi").as_posix()
        folder = rel.split("/")[0]
        allowed = ALLOWED.get(folder)
        if allowed is None:
            out.append(f"{rel}: folder '{folder}' has no rule in check_layers.py")
            continue
        if rel in JOINS:
            allowed = allowed | MODEL_LAYER
        for target in INCLUDE.findall(h.read_text()):
            if not (root / "lstmidi" / target).is_file():
                out.append(f"{rel}: includes lstmidi/{target}, which does not exist")
                continue
            tfolder = target.split("/")[0] if "/" in target else ""
            if tfolder and tfolder != folder and tfolder not in allowed:
                out.append(f"{rel}: includes {target} ('{folder}' may include: "
                           f"{', '.join(sorted(allowed)) or 'nothing outside itself'})")
    return out


def main():
    if len(sys.argv) != 2:
        print(__doc__.strip().splitlines()[-1])
        return 2
    problems = violations(pathlib.Path(sys.argv[1]))
    for p in problems:
        print(p)
    if not problems:
        print("every header includes only the layers it may")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
