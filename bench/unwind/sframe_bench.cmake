# SFrame table building on a large .sframe (50000 functions, ~1.6 MB).
set(RINGPROF_BENCH_SFRAME_AS_FLAGS -Wa,--gsframe)
if(CMAKE_C_COMPILER_ID MATCHES "Clang")
  list(PREPEND RINGPROF_BENCH_SFRAME_AS_FLAGS -fno-integrated-as)
endif()
add_executable(unwind_many_functions ${CMAKE_CURRENT_LIST_DIR}/many_functions.c)
target_compile_options(unwind_many_functions PRIVATE -O2 -fomit-frame-pointer
                       ${RINGPROF_BENCH_SFRAME_AS_FLAGS})

add_executable(sframe_bench ${CMAKE_CURRENT_LIST_DIR}/sframe_bench.cc)
target_link_libraries(sframe_bench PRIVATE ringprof_unwind benchmark::benchmark absl::strings
                      absl::status absl::statusor)
add_dependencies(sframe_bench unwind_many_functions)
target_compile_definitions(sframe_bench PRIVATE
  SFRAME_BENCH_ELF="$<TARGET_FILE:unwind_many_functions>")
