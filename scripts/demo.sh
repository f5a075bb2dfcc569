#!/usr/bin/env bash
# The main job, from a fresh clone: install what is missing, build in Release, train on the
# bundled Bach chorales for a few minutes, and generate a MIDI file plus its piano-roll picture.
# Usage: scripts/demo.sh [extra lstmidi-train flags]     Output: out/demo-model/, out/demo.mid, out/demo.svg
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DLSTMIDI_BUILD_EXAMPLES=ON \
  "-DLSTMIDI_ARCH=$(scripts/arch-flags.sh)" >/dev/null
cmake --build build -j"$jobs" --target lstmidi-train lstmidi-generate
rm -rf out/demo-model
mkdir -p out
# Settings for a small corpus (229 chorales, about 27,000 events): every piece in C major or
# A minor, rare events merged into their nearest frequent neighbour, a small model (one layer
# of 128, 32-wide embeddings) with strong dropout, early stopping. Bigger models over-fit this
# corpus before they beat a bigram model (docs/tutorial.md, "Tuning").
build/bin/lstmidi-train --data data/jsb_chorales_16th/train --out out/demo-model \
  --same-key --min-count 8 --layers 1 --hidden 128 --embedding 32 --dropout 0.5 \
  --seq-len 32 --stride 8 --batch 16 --lr 3e-3 --epochs 40 --patience 4 --time-budget 240 "$@"
build/bin/lstmidi-generate --model out/demo-model --out out/demo.mid --length 120 \
  --temperature 0.8 --seed 7 --tempo 90 --program 19
echo
echo "Done. Listen to out/demo.mid (e.g. timidity out/demo.mid), look at out/demo.svg;"
echo "the model, its loss curve (loss.svg) and evaluation are in out/demo-model/."
