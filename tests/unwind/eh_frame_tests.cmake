# Tests of the .eh_frame converter (included by tests/unwind/CMakeLists.txt).

# The workload whose tables are checked at every address: C and C++ at -O2
# without frame pointers, with VLAs/alloca (CFA on RBP), exceptions and
# std::sort.
add_executable(eh_workload eh_workloads/frames.c eh_workloads/main.cc)
target_compile_options(eh_workload PRIVATE -O2 -fomit-frame-pointer -fasynchronous-unwind-tables)
target_link_options(eh_workload PRIVATE -Wl,--build-id=sha1)

add_executable(eh_frame_test eh_frame_test.cc)
target_link_libraries(eh_frame_test PRIVATE ringprof_unwind PkgConfig::LIBDW PkgConfig::LIBELF
                      GTest::gmock GTest::gtest_main)
add_dependencies(eh_frame_test eh_workload)
target_compile_definitions(eh_frame_test PRIVATE EH_WORKLOAD="$<TARGET_FILE:eh_workload>")
gtest_discover_tests(eh_frame_test DISCOVERY_TIMEOUT 60)

# libFuzzer target: clang only, -DRINGPROF_BUILD_FUZZ=ON. eh_frame.cc is
# compiled into the target itself so that it gets coverage instrumentation.
# Seeds: any small ELF, e.g. $<TARGET_FILE:eh_workload>.
if(RINGPROF_BUILD_FUZZ AND CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  add_executable(fuzz_eh_frame fuzz_eh_frame.cc ${PROJECT_SOURCE_DIR}/unwind/eh_frame.cc)
  target_compile_options(fuzz_eh_frame PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_options(fuzz_eh_frame PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(fuzz_eh_frame PRIVATE ringprof_unwind PkgConfig::LIBDW PkgConfig::LIBELF)
endif()
