# Browser end-to-end tests: tests/e2e/*.test.mjs, node's built-in test runner driving
# Debian's chromium through playwright-core, each inside a network namespace that the test
# creates and removes (needs root; see tests/e2e/README.md). Included from cmake/tests.cmake.
# The node modules come from `npm ci` in tests/e2e/ (tools/test.sh runs it before
# configuring); without them the e2e label holds one failing test that says so.

set(TC_E2E_DIR ${CMAKE_SOURCE_DIR}/tests/e2e)
file(GLOB TC_E2E_TESTS CONFIGURE_DEPENDS ${TC_E2E_DIR}/*.test.mjs)
find_program(NODE node)

if(NOT TC_E2E_TESTS)
  # nothing to register
elseif(NOT NODE OR NOT EXISTS ${TC_E2E_DIR}/node_modules/playwright-core)
  # Not silently skipped: a test that fails and says what is missing.
  message(WARNING "tests/e2e is not set up (node, or `npm ci` in tests/e2e/): "
                  "the e2e label has one failing test until it is (tools/test.sh does it)")
  add_test(NAME e2e/not-set-up COMMAND sh -c
           "echo 'tests/e2e is not set up: install nodejs and run npm ci in tests/e2e/ (tools/test.sh does), then re-run cmake' >&2; exit 1")
  set_tests_properties(e2e/not-set-up PROPERTIES LABELS e2e)
else()
  foreach(src ${TC_E2E_TESTS})
    get_filename_component(name ${src} NAME)
    string(REGEX REPLACE "\\.test\\.mjs$" "" name ${name})
    add_test(NAME e2e/${name} COMMAND ${NODE} --test ${src} WORKING_DIRECTORY ${TC_E2E_DIR})
    set_tests_properties(e2e/${name} PROPERTIES LABELS e2e TIMEOUT 300 RUN_SERIAL TRUE
      ENVIRONMENT "TC_BINARY=$<TARGET_FILE:telecounter>;TC_ADMIN=$<TARGET_FILE:telecounter-admin>;TC_SOURCE_DIR=${CMAKE_SOURCE_DIR};TC_BUILD_DIR=${CMAKE_BINARY_DIR};PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1")
  endforeach()
endif()
