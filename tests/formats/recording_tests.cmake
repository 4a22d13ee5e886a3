# Tests of the recording file (included by tests/formats/CMakeLists.txt).
add_executable(recording_test recording_test.cc)
target_link_libraries(recording_test PRIVATE ringprof_formats ZLIB::ZLIB absl::strings
                      GTest::gmock GTest::gtest_main)
target_compile_definitions(recording_test
                           PRIVATE RINGPROF_TESTDATA_DIR="${CMAKE_CURRENT_SOURCE_DIR}/testdata"
                                   RINGPROF_RECORDING_CORPUS_DIR="${CMAKE_CURRENT_SOURCE_DIR}/fuzz_corpus/recording")
gtest_discover_tests(recording_test DISCOVERY_TIMEOUT 60)

# Writes the version 2 golden files of testdata/ (and, with --fuzz-seeds,
# fuzz seeds); see recording_golden.h.
add_executable(recording_golden_gen recording_golden_gen.cc)
target_link_libraries(recording_golden_gen PRIVATE ringprof_formats)

# libFuzzer target: clang only, -DRINGPROF_BUILD_FUZZ=ON. Seeds are in
# fuzz_corpus/recording/.
if(RINGPROF_BUILD_FUZZ AND CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  add_executable(fuzz_recording fuzz_recording.cc)
  target_compile_options(fuzz_recording PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_options(fuzz_recording PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(fuzz_recording PRIVATE ringprof_formats ZLIB::ZLIB)
endif()
