# .eh_frame table building (included by bench/unwind/CMakeLists.txt).
add_executable(bench_eh_frame ${CMAKE_CURRENT_LIST_DIR}/eh_frame_bench.cc)
target_link_libraries(bench_eh_frame PRIVATE ringprof_unwind benchmark::benchmark)
# The fallback "largest binary" when libLLVM is absent; not a build dependency.
target_compile_definitions(bench_eh_frame
                           PRIVATE RINGPROF_BINARY="${PROJECT_BINARY_DIR}/ringprof")
