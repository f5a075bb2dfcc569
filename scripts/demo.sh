#!/usr/bin/env bash
# The main job, from a fresh clone: install what is missing, build in Release, train on the
# bundled Bach chorales for a few minutes, generate a MIDI file plus its piano-roll picture,
# and measure how much a set of generated chorales looks like the held-out ones.
# Usage: scripts/demo.sh [extra lstmidi-train flags]
# Output: out/demo-model/, out/demo.mid, out/demo.svg, out/demo-pieces/ (30 pieces)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DLSTMIDI_BUILD_EXAMPLES=ON \
  "-DLSTMIDI_ARCH=$(scripts/arch-flags.sh)" >/dev/null
cmake --build build -j"$jobs" --target lstmidi-train lstmidi-generate lstmidi-eval lstmidi-studio
rm -rf out/demo-model out/demo-pieces
mkdir -p out/demo-pieces
# The events encoding (the default): every voice of the chorales as a part of its own, with its
# notes' exact lengths. Settings for a small corpus (229 chorales, about 160,000 words): every
# piece in C major or A minor, one layer of 256 with strong dropout and weight drop on the
# recurrent weights, windows of 128 words, four minutes of training (docs/benchmarks.md).
build/bin/lstmidi-train --data data/jsb_chorales_16th/train --out out/demo-model \
  --same-key --layers 1 --hidden 256 --embedding 32 --dropout 0.5 --weight-drop 0.25 \
  --seq-len 128 --stride 32 --batch 16 --lr 3e-3 --epochs 60 --patience 6 --time-budget 240 "$@"
# Generation as the chorales are written: every part a voice that sings one note at a time and
# does not fall silent (--voices), pieces that end at a bar line (--end-at-bar), pitches drawn
# at temperature 0.7 and note lengths at 1.2 (at one low temperature the common short lengths
# win and the notes come out short; docs/benchmarks.md).
gen=(--length 700 --temperature 0.7 --length-temperature 1.2 --voices --end-at-bar)
build/bin/lstmidi-generate --model out/demo-model --out out/demo.mid "${gen[@]}" --seed 7
# Thirty pieces about as long as a chorale, measured against the 76 held-out chorales.
build/bin/lstmidi-generate --model out/demo-model --out out/demo-pieces/chorale.mid "${gen[@]}" \
  --seed 1 --num-outputs 30 >/dev/null
echo
echo "How much the 30 generated pieces look like the held-out chorales (1 = alike):"
build/bin/lstmidi-eval --generated out/demo-pieces --reference data/jsb_chorales_16th/valid
echo
echo "Done. Listen to out/demo.mid (e.g. timidity out/demo.mid), look at out/demo.svg;"
echo "the model, its loss curve (loss.svg) and evaluation are in out/demo-model/."
echo "Generate, see and hear more in the browser: build/bin/lstmidi-studio --model out/demo-model"
