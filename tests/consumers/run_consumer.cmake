# Configures, builds and runs one consumer project in a fresh directory, the way a user would.
#
#   cmake -DCONSUMER_SOURCE=<project> -DWORK_DIR=<scratch> -DLSTMIDI_SOURCE_DIR=<lstmidi>
#         [-DINSTALL_FROM=<lstmidi build dir>] -DGENERATOR=<gen> -DCXX_COMPILER=<cxx>
#         -P run_consumer.cmake
#
# With INSTALL_FROM, the lstmidi build is first installed (`cmake --install`) into
# WORK_DIR/prefix and the consumer finds it through CMAKE_PREFIX_PATH. The consumer must print a
# line starting with "loss ".
cmake_minimum_required(VERSION 3.25)

foreach(var CONSUMER_SOURCE WORK_DIR LSTMIDI_SOURCE_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run_consumer.cmake: -D${var}=... is required")
  endif()
endforeach()

file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")
set(build_dir "${WORK_DIR}/build")

set(args -DCMAKE_BUILD_TYPE=Release -DLSTMIDI_SOURCE_DIR=${LSTMIDI_SOURCE_DIR})
if(GENERATOR)
  list(APPEND args -G "${GENERATOR}")
endif()
if(CXX_COMPILER)
  list(APPEND args -DCMAKE_CXX_COMPILER=${CXX_COMPILER})
endif()

if(INSTALL_FROM)
  set(prefix "${WORK_DIR}/prefix")
  execute_process(COMMAND ${CMAKE_COMMAND} --install "${INSTALL_FROM}" --prefix "${prefix}"
                  OUTPUT_QUIET COMMAND_ERROR_IS_FATAL ANY)
  if(NOT EXISTS "${prefix}/share/cmake/lstmidi/lstmidiConfig.cmake")
    message(FATAL_ERROR "cmake --install did not produce share/cmake/lstmidi/lstmidiConfig.cmake")
  endif()
  if(NOT EXISTS "${prefix}/include/lstmidi/lstmidi.hpp")
    message(FATAL_ERROR "cmake --install did not install include/lstmidi/lstmidi.hpp")
  endif()
  list(APPEND args -DCMAKE_PREFIX_PATH=${prefix})
endif()

message(STATUS "configure ${CONSUMER_SOURCE}")
execute_process(COMMAND ${CMAKE_COMMAND} -S "${CONSUMER_SOURCE}" -B "${build_dir}" ${args}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "configuring the consumer failed (${rc}):\n${out}\n${err}")
endif()

message(STATUS "build")
execute_process(COMMAND ${CMAKE_COMMAND} --build "${build_dir}" --config Release
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "building the consumer failed (${rc}):\n${out}\n${err}")
endif()

# Only the consumer's own program may have been built: lstmidi's tests and examples stay off
# when lstmidi is not the top-level project.
file(GLOB_RECURSE built LIST_DIRECTORIES false RELATIVE "${build_dir}"
     "${build_dir}/*lstmidi_core_tests*" "${build_dir}/*lstmidi_music_tests*"
     "${build_dir}/*lstmidi-train*" "${build_dir}/*lstmidi-generate*" "${build_dir}/*lstmidi-chars*")
if(built)
  message(FATAL_ERROR "lstmidi's own tests or examples were built in a consumer project: ${built}")
endif()

set(exe "${build_dir}/consumer")
if(NOT EXISTS "${exe}")
  set(exe "${build_dir}/Release/consumer")
endif()
execute_process(COMMAND "${exe}" WORKING_DIRECTORY "${WORK_DIR}"
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message(STATUS "consumer says: ${out}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the consumer program failed (${rc}):\n${out}\n${err}")
endif()
if(NOT out MATCHES "loss [0-9]")
  message(FATAL_ERROR "the consumer program did not print a loss:\n${out}")
endif()
file(REMOVE_RECURSE "${WORK_DIR}")
