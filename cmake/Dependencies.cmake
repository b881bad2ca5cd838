# Finds every third-party dependency once, from Debian 12 packages only
# (see .ci/install-deps for the package list). Modules link the imported targets.
find_package(PkgConfig REQUIRED)
pkg_check_modules(RE2 REQUIRED IMPORTED_TARGET re2)
pkg_check_modules(ICU REQUIRED IMPORTED_TARGET icu-uc)  # rules/: NFKC of the canonical view
pkg_check_modules(ZSTD REQUIRED IMPORTED_TARGET libzstd)  # sink/: store chunk files (v2)
find_package(Boost 1.81 REQUIRED COMPONENTS json)
find_package(yaml-cpp REQUIRED)
find_package(OpenSSL 3 REQUIRED)
find_package(SQLite3 REQUIRED)
find_package(spdlog REQUIRED)
find_package(ZLIB REQUIRED)
find_package(Threads REQUIRED)
if(SCRUBD_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()

# The captured fixtures (CI: /work/shared beside the repo); a git worktree elsewhere sets it.
set(SCRUBD_SHARED_DIR "${PROJECT_SOURCE_DIR}/../shared" CACHE PATH "dir holding fixtures/")

# Helper: one gtest binary per module, tests discovered for per-case ctest reporting.
function(scrubd_add_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} GTest::gtest GTest::gtest_main
                                        scrubd_common)
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/tests)
  target_compile_definitions(${name} PRIVATE
    SCRUBD_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    SCRUBD_SHARED_DIR="${SCRUBD_SHARED_DIR}")
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT 600)
endfunction()
