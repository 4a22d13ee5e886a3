# Benchmarks of the recording file (included by bench/formats/CMakeLists.txt).
add_executable(bench_recording recording_bench.cc)
target_link_libraries(bench_recording PRIVATE ringprof_formats benchmark::benchmark)
