# Mutation test: mutated recordings through the reader and the report
# library (included by tests/formats/CMakeLists.txt). ctest runs the short
# form; RINGPROF_MUTATIONS=5000 build/tests/formats/recording_mutation_test
# runs the long one.
add_executable(recording_mutation_test mutation_test.cc)
target_link_libraries(recording_mutation_test PRIVATE ringprof_report ringprof_pprof
                      ringprof_formats ZLIB::ZLIB absl::strings absl::str_format GTest::gtest_main)
gtest_discover_tests(recording_mutation_test DISCOVERY_TIMEOUT 60)
