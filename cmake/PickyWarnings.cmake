# The curated warning list (curl's CMake/PickyWarnings.cmake is the model).
# DL_WERROR turns them into errors; CI sets it.
set(DL_WARNINGS
  -Wall -Wextra -Wpedantic -Wshadow -Wformat=2 -Wformat-security
  -Wstrict-prototypes -Wmissing-prototypes -Wold-style-definition
  -Wpointer-arith -Wcast-qual -Wwrite-strings -Wundef -Wvla
  -Wimplicit-fallthrough -Wnull-dereference -Wdouble-promotion
  -Wno-unused-parameter -Wno-missing-field-initializers)
if(CMAKE_C_COMPILER_ID STREQUAL "GNU")
  list(APPEND DL_WARNINGS -Wlogical-op -Wduplicated-cond -Wjump-misses-init)
endif()

function(dl_picky_warnings target)
  target_compile_options(${target} PRIVATE ${DL_WARNINGS})
  if(DL_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
