# lstmidi-chars end to end on the shipped text, small and fast:
#   train 2 epochs straight; train 1 epoch, then --resume to 2: the two best models must be
#   byte-identical (exact resume); sample twice with one seed: same text; bad input: exit 2.
#
#   cmake -DCHARS=<lstmidi-chars> -DTEXT=<file> -DWORK_DIR=<scratch> -P chars_program.cmake
cmake_minimum_required(VERSION 3.25)
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")
set(small --hidden 24 --layers 1 --embedding 8 --seq-len 24 --batch 32 --threads 1 --quiet)

function(run expect_rc)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL expect_rc)
    message(FATAL_ERROR "exit ${rc} (expected ${expect_rc}): ${ARGN}\n${out}\n${err}")
  endif()
  set(out "${out}" PARENT_SCOPE)
  set(err "${err}" PARENT_SCOPE)
endfunction()

run(0 "${CHARS}" train --text "${TEXT}" --out "${WORK_DIR}/a" --epochs 2 ${small})
if(NOT out MATCHES "validation \\([0-9]+ characters\\): lstm ([0-9.]+) nats/char.*unigram ([0-9.]+)")
  message(FATAL_ERROR "no validation report:\n${out}")
endif()
message(STATUS "validation: lstm ${CMAKE_MATCH_1}, unigram ${CMAKE_MATCH_2} nats/char")
if(NOT CMAKE_MATCH_1 LESS CMAKE_MATCH_2)
  message(FATAL_ERROR "the model did not beat the unigram baseline:\n${out}")
endif()
run(0 "${CHARS}" train --text "${TEXT}" --out "${WORK_DIR}/b" --epochs 1 ${small})
run(0 "${CHARS}" train --text "${TEXT}" --out "${WORK_DIR}/b" --epochs 2 --resume ${small})
file(SHA256 "${WORK_DIR}/a/model.lstmidi" ha)
file(SHA256 "${WORK_DIR}/b/model.lstmidi" hb)
if(NOT ha STREQUAL hb)
  message(FATAL_ERROR "a resumed run differs from an uninterrupted one")
endif()

run(0 "${CHARS}" sample --model "${WORK_DIR}/a" --length 80 --seed 4 --prime "CAT, n.")
set(first "${out}")
run(0 "${CHARS}" sample --model "${WORK_DIR}/b" --length 80 --seed 4 --prime "CAT, n.")
if(NOT out STREQUAL first OR NOT out MATCHES "^CAT, n\\.")
  message(FATAL_ERROR "sampling is not reproducible or lost the primer:\n${first}\n${out}")
endif()
message(STATUS "sample: ${out}")

run(2 "${CHARS}" sample --model "${WORK_DIR}/a" --prime "\t~\t")   # characters the text lacks
run(2 "${CHARS}" train --text "${TEXT}" --out "${WORK_DIR}/a" ${small})  # run already there
run(1 "${CHARS}" sample --model "${WORK_DIR}/missing")
file(REMOVE_RECURSE "${WORK_DIR}")
