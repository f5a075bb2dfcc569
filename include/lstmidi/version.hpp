// SPDX-License-Identifier: MIT
/// Library version. Bumped with the CMake project version; recorded in every model file.
#pragma once

#define LSTMIDI_VERSION_MAJOR 0
#define LSTMIDI_VERSION_MINOR 1
#define LSTMIDI_VERSION_PATCH 0
#define LSTMIDI_VERSION_STRING "0.1.0"

namespace lstmidi {
/// Version as one integer, major*10000 + minor*100 + patch.
inline constexpr int kVersion =
    LSTMIDI_VERSION_MAJOR * 10000 + LSTMIDI_VERSION_MINOR * 100 + LSTMIDI_VERSION_PATCH;
}  // namespace lstmidi
