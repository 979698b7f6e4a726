# Test suites, by CTest label (README.md, "Testing"):
#   unit         tests/unit/<area>/test_<mod>.c, cmocka, one process per file,
#                linked against that area's library only
#   fuzz         tests/fuzz/fuzz_<name>.c replaying tests/fuzz/corpus/<name>/
#   integration  tests/integration/test_*.py against the real binary on loopback
#   e2e          tests/e2e/*.test.mjs in Debian's chromium (cmake/e2e.cmake)

if(CMOCKA_FOUND)
  file(GLOB TC_UNIT_TESTS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/unit/*/test_*.c)
  foreach(src ${TC_UNIT_TESTS})
    get_filename_component(name ${src} NAME_WE)
    get_filename_component(dir ${src} DIRECTORY)
    get_filename_component(area ${dir} NAME)
    add_executable(${name} ${src})
    target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR}/src
                               ${CMAKE_BINARY_DIR}/generated)
    target_link_libraries(${name} PRIVATE tc_${area} PkgConfig::CMOCKA)
    add_test(NAME unit/${name} COMMAND ${name})
    set_tests_properties(unit/${name} PROPERTIES LABELS unit
      ENVIRONMENT "TC_SOURCE_DIR=${CMAKE_SOURCE_DIR};CMOCKA_MESSAGE_OUTPUT=stdout")
  endforeach()
else()
  message(WARNING "cmocka not found: unit tests are not built (tools/lib/setup.sh installs it)")
endif()

# Fuzz targets: tests/fuzz/fuzz_<name>.c, each defines LLVMFuzzerTestOneInput. With TC_FUZZ (clang) they
# link libFuzzer; always, they also build against replay.c, a small driver that
# feeds every file of the corpus once, so CI replays corpora with any compiler.
file(GLOB TC_FUZZ_TARGETS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_*.c)
foreach(src ${TC_FUZZ_TARGETS})
  get_filename_component(name ${src} NAME_WE)
  string(REPLACE "fuzz_" "" corpus ${name})
  add_executable(replay_${corpus} ${src} ${CMAKE_SOURCE_DIR}/tests/fuzz/replay.c)
  target_link_libraries(replay_${corpus} PRIVATE tc tc_peer)
  target_include_directories(replay_${corpus} PRIVATE ${CMAKE_SOURCE_DIR}/src)
  add_test(NAME fuzz/${corpus}
           COMMAND replay_${corpus} ${CMAKE_SOURCE_DIR}/tests/fuzz/corpus/${corpus})
  set_tests_properties(fuzz/${corpus} PROPERTIES LABELS fuzz)
  if(TC_FUZZ)
    add_executable(${name} ${src})
    target_compile_options(${name} PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_options(${name} PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_libraries(${name} PRIVATE tc tc_peer)
    target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR}/src)
  endif()
endforeach()

# Debian's python3, which has python3-websockets (tools/lib/setup.sh installs it);
# a python3 earlier on PATH (pyenv, a venv) may lack the module.
find_program(PYTHON3 python3 PATHS /usr/bin NO_DEFAULT_PATH)
if(NOT PYTHON3)
  find_program(PYTHON3 python3)
endif()
file(GLOB TC_INTEGRATION_TESTS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/integration/test_*.py)
foreach(src ${TC_INTEGRATION_TESTS})
  get_filename_component(name ${src} NAME_WE)
  add_test(NAME integration/${name} COMMAND ${PYTHON3} ${src})
  set_tests_properties(integration/${name} PROPERTIES LABELS integration TIMEOUT 300
    ENVIRONMENT "TC_BINARY=$<TARGET_FILE:telecounter>;TC_ADMIN=$<TARGET_FILE:telecounter-admin>;TC_SOURCE_DIR=${CMAKE_SOURCE_DIR};TC_BUILD_DIR=${CMAKE_BINARY_DIR}")
endforeach()

include(${CMAKE_SOURCE_DIR}/cmake/e2e.cmake)
