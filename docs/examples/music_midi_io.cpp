// music::write_midi and music::read_midi: notes (times in beats) to a MIDI file and back.
#include <cstdio>
#include <lstmidi/music/music.hpp>

int main() {
  using namespace lstmidi::music;
  std::vector<Note> notes;
  for (int i = 0; i < 4; ++i) {  // C major arpeggio, one quarter note each, then a chord
    Note n;
    n.pitch = std::vector<int>{60, 64, 67, 72}[static_cast<size_t>(i)];
    n.onset_beats = i;
    n.duration_beats = 1.0;
    notes.push_back(n);
  }
  for (int p : {60, 64, 67}) notes.push_back(Note{p, 0, 90, 4.0, 2.0});
  WriteOptions wo;
  wo.bpm = 90;
  wo.program = 19;  // church organ
  write_midi("arpeggio.mid", notes, wo);

  const Song song = read_midi("arpeggio.mid");  // guarded: hostile files throw, never crash
  std::printf("%zu notes, %d ppqn, tempo %.0f bpm\n", song.notes.size(), song.ppqn,
              song.tempos.empty() ? 120.0 : song.tempos[0].bpm);
  for (const Note& n : song.notes)
    std::printf("  %-3s at beat %.2f for %.2f beats\n", pitch_name(n.pitch).c_str(), n.onset_beats,
                n.duration_beats);
  return song.notes.size() == notes.size() ? 0 : 1;
}
