# Builds and runs the consumer project in this folder against lowbit, then checks what it used.
#   cmake -DMODE=installed|subdirectory -DLOWBIT_SOURCE_DIR=<src> -DLOWBIT_BUILD_DIR=<build> -DWORK_DIR=<scratch>
#         -DCXX=<compiler> -DGENERATOR=<generator> -P run.cmake
# installed:    `cmake --install LOWBIT_BUILD_DIR --prefix WORK_DIR/prefix`, then find_package(lowbit) from there
#               (and, with -DEXPECT_TOOL=1, the installed `lowbit` tool runs);
# subdirectory: add_subdirectory(LOWBIT_SOURCE_DIR).
cmake_minimum_required(VERSION 3.25)

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    string(REPLACE ";" " " command "${ARGN}")
    message(FATAL_ERROR "failed (${rc}): ${command}")
  endif()
endfunction()

file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)
if(MODE STREQUAL "installed")
  run(${CMAKE_COMMAND} --install ${LOWBIT_BUILD_DIR} --prefix ${prefix})
  set(consumer_args -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF)
elseif(MODE STREQUAL "subdirectory")
  # lowbit::dispatch with one SIMD table besides scalar: the mechanism is what is tested here, and every table
  # takes about 15 s to compile (the installed package carries them all).
  set(consumer_args -DLOWBIT_SOURCE_DIR=${LOWBIT_SOURCE_DIR} "-DLOWBIT_DISPATCH_ONLY=avx2|neon")
else()
  message(FATAL_ERROR "MODE must be installed or subdirectory, not '${MODE}'")
endif()

run(${CMAKE_COMMAND} -S ${CMAKE_CURRENT_LIST_DIR} -B ${WORK_DIR}/build -G ${GENERATOR} -DCMAKE_CXX_COMPILER=${CXX}
    -DCMAKE_BUILD_TYPE=Release ${consumer_args})
run(${CMAKE_COMMAND} --build ${WORK_DIR}/build)
run(${WORK_DIR}/build/consumer)
if(NOT EXISTS ${WORK_DIR}/build/consumer_dispatch)
  message(FATAL_ERROR "the package has no lowbit::dispatch target")
endif()
run(${WORK_DIR}/build/consumer_dispatch)
if(NOT EXISTS ${WORK_DIR}/build/consumer_calibration)
  message(FATAL_ERROR "the package has no lowbit::calibration target")
endif()
run(${WORK_DIR}/build/consumer_calibration)

if(MODE STREQUAL "installed")
  # The package came from the prefix, not from a system install or the build tree.
  file(STRINGS ${WORK_DIR}/build/CMakeCache.txt found REGEX "^lowbit_DIR:")
  string(FIND "${found}" "${prefix}/" at)
  if(NOT at GREATER -1)
    message(FATAL_ERROR "find_package(lowbit) did not use the installed package: ${found}")
  endif()
  foreach(header lowbit.hpp api.hpp formats.hpp)
    if(NOT EXISTS ${prefix}/include/lowbit/${header})
      message(FATAL_ERROR "${prefix}/include/lowbit/${header} was not installed")
    endif()
  endforeach()
  if(EXPECT_TOOL)
    run(${prefix}/bin/lowbit --version)
  endif()
else()
  # add_subdirectory builds none of lowbit's own tests, benchmarks, tools or examples.
  file(GLOB_RECURSE extra ${WORK_DIR}/build/lowbit/*/lowbit_tests_* ${WORK_DIR}/build/lowbit/tools/lowbit)
  if(extra)
    message(FATAL_ERROR "add_subdirectory(lowbit) built lowbit's own targets: ${extra}")
  endif()
endif()
