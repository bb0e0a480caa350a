# dl_add_test(NAME name SOURCES a.c [b.c] LABELS unit [...] [ARGS ...])
# One cmocka executable per source file, registered with labels (libssh's
# AddCMockaTest.cmake is the model). Tests labelled "unit" also run under
# valgrind in CI (scripts/test).
function(dl_add_test)
  cmake_parse_arguments(T "" "NAME;WORKING_DIRECTORY" "SOURCES;LABELS;ARGS;ENV;FIXTURES" ${ARGN})
  add_executable(${T_NAME} ${T_SOURCES})
  target_link_libraries(${T_NAME} PRIVATE dlcore PkgConfig::CMOCKA)
  target_compile_definitions(${T_NAME} PRIVATE
    DL_SOURCE_DIR="${CMAKE_SOURCE_DIR}" DL_BINARY_DIR="${CMAKE_BINARY_DIR}")
  dl_picky_warnings(${T_NAME})
  if(NOT T_WORKING_DIRECTORY)
    set(T_WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
  endif()
  add_test(NAME ${T_NAME} COMMAND ${T_NAME} ${T_ARGS}
           WORKING_DIRECTORY ${T_WORKING_DIRECTORY})
  set_tests_properties(${T_NAME} PROPERTIES LABELS "${T_LABELS}")
  if(T_ENV)
    set_tests_properties(${T_NAME} PROPERTIES ENVIRONMENT "${T_ENV}")
  endif()
  if(T_FIXTURES)
    set_tests_properties(${T_NAME} PROPERTIES FIXTURES_REQUIRED "${T_FIXTURES}")
  endif()
  # Unit tests also run under valgrind memcheck (label "valgrind"): any
  # error or definite/indirect leak fails the test.
  if(DL_VALGRIND AND "unit" IN_LIST T_LABELS)
    add_test(NAME ${T_NAME}-valgrind
             COMMAND ${DL_VALGRIND_EXE} --quiet --error-exitcode=99
                     --leak-check=full --show-leak-kinds=definite,indirect
                     --errors-for-leak-kinds=definite,indirect
                     --track-fds=no $<TARGET_FILE:${T_NAME}> ${T_ARGS}
             WORKING_DIRECTORY ${T_WORKING_DIRECTORY})
    set_tests_properties(${T_NAME}-valgrind PROPERTIES LABELS "valgrind"
                         TIMEOUT 600)
    if(T_ENV)
      set_tests_properties(${T_NAME}-valgrind PROPERTIES ENVIRONMENT "${T_ENV}")
    endif()
  endif()
endfunction()

# dl_add_script_test(NAME name COMMAND cmd... LABELS ... [FIXTURES ...])
# A test that runs a script (integration, style and packaging checks).
function(dl_add_script_test)
  cmake_parse_arguments(T "" "NAME;TIMEOUT" "COMMAND;LABELS;ENV;FIXTURES" ${ARGN})
  add_test(NAME ${T_NAME} COMMAND ${T_COMMAND}
           WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
  set_tests_properties(${T_NAME} PROPERTIES LABELS "${T_LABELS}"
    ENVIRONMENT "DL_SOURCE_DIR=${CMAKE_SOURCE_DIR};DL_BINARY_DIR=${CMAKE_BINARY_DIR};${T_ENV}")
  if(T_TIMEOUT)
    set_tests_properties(${T_NAME} PROPERTIES TIMEOUT ${T_TIMEOUT})
  endif()
  if(T_FIXTURES)
    set_tests_properties(${T_NAME} PROPERTIES FIXTURES_REQUIRED "${T_FIXTURES}")
  endif()
endfunction()
