#!/usr/bin/env bash
# Every C++ source and header of the project is laid out as .clang-format says (the house
# style), so that a change's diff holds only what it changes.
# Usage: tests/style/check_format.sh PROJECT_ROOT
# Exit 0: all formatted; 1: clang-format's report names each file and line that is not;
# 77 (reported by ctest as skipped): clang-format is not installed.
set -euo pipefail
root=${1:?usage: check_format.sh PROJECT_ROOT}
if ! command -v clang-format >/dev/null; then
  echo "clang-format not found (apt-get install clang-format): not checked"
  exit 77
fi
cd "$root"
mapfile -t files < <(find bench docs examples include scripts tests \
  \( -name '*.cpp' -o -name '*.hpp' -o -name '*.h' \) -type f | sort)
if [ ${#files[@]} -eq 0 ]; then
  echo "no C++ sources found under $root" >&2
  exit 1
fi
clang-format --dry-run -Werror "${files[@]}"
echo "${#files[@]} files formatted as .clang-format says ($(clang-format --version))"
