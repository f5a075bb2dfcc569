// music::Encoder: notes <-> tokens on a quantisation grid (docs/encoding.md).
#include <cstdio>
#include <lstmidi/music/music.hpp>

int main() {
  using namespace lstmidi::music;
  EncoderOptions eo;
  eo.steps_per_beat = 4;  // 16th-note grid
  const Encoder encoder(eo);
  // C4 for a beat, then an E4+G4 chord for two beats after a half-beat rest.
  const std::vector<Note> notes = {Note{60, 0, 80, 0.0, 1.0}, Note{64, 0, 80, 1.5, 2.0},
                                   Note{67, 0, 80, 1.5, 2.0}};
  const std::vector<Token> tokens = encoder.encode(notes);
  for (const Token& t : tokens) std::printf("%s ", to_string(t).c_str());
  std::printf("\n");
  const std::vector<Note> back = encoder.decode(tokens);
  std::printf("decoded %zu notes; round trip exact: %d\n", back.size(),
              round_trip_stats(notes, encoder).share() == 1.0);
  // Text in, tokens out: what --primer-notes uses.
  for (const Token& t : encoder.parse("C4 E4 G4 C4.E4.G4:8 rest:4"))
    std::printf("%s ", to_string(t).c_str());
  std::printf("\n");
}
