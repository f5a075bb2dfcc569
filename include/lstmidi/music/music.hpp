// SPDX-License-Identifier: MIT
/// The music data layer in one include: read MIDI (guarded libsmf), encode notes as tokens,
/// build a vocabulary, cut training windows, decode and write MIDI. Needs the lstmidi::music
/// CMake target (libsmf + glib). See docs/encoding.md.
#pragma once

#include "lstmidi/music/corpus.hpp"
#include "lstmidi/music/corpus_cache.hpp"
#include "lstmidi/music/encoder.hpp"
#include "lstmidi/music/event_grid.hpp"
#include "lstmidi/music/events.hpp"
#include "lstmidi/music/file_io.hpp"
#include "lstmidi/music/instrument_filter.hpp"
#include "lstmidi/music/key.hpp"
#include "lstmidi/music/metrics.hpp"
#include "lstmidi/music/midi_reader.hpp"
#include "lstmidi/music/midi_writer.hpp"
#include "lstmidi/music/model_dir.hpp"
#include "lstmidi/music/note.hpp"
#include "lstmidi/music/pianoroll.hpp"
#include "lstmidi/music/piece_features.hpp"
#include "lstmidi/music/roll_picture.hpp"
#include "lstmidi/music/round_trip.hpp"
#include "lstmidi/music/smf_guard.hpp"
#include "lstmidi/music/statistics.hpp"
#include "lstmidi/music/token.hpp"
#include "lstmidi/music/vocabulary.hpp"
#include "lstmidi/music/windows.hpp"
