# roost_add_module(<name> [INTERNAL] SOURCES ... [DEPENDS ...] [PRIVATE_DEPENDS ...] [PACKAGES ...])
# Makes the library roost_<name> with the alias roost::<name>, public headers in
# <dir>/include, and the project's warning flags on its own sources only. PACKAGES are found
# here (REQUIRED) and again by the installed roostConfig.cmake for whoever loads this module,
# which also loads the roost::<m> modules this one links first: a module's needs are said once,
# in its own folder. An INTERNAL module's headers are for the build only (not installed); its
# library is, for static consumers.
include_guard(GLOBAL)

set(ROOST_WARNINGS -Wall -Wextra -Werror -Wno-missing-field-initializers)
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  # GCC 12 reports Asio's awaitable frames (their own operator new/delete) as mismatched
  # when inlining under sanitizers: a false positive.
  list(APPEND ROOST_WARNINGS -Wno-mismatched-new-delete)
endif()

function(roost_add_module name)
  cmake_parse_arguments(ARG "INTERNAL" "" "SOURCES;DEPENDS;PRIVATE_DEPENDS;PACKAGES" ${ARGN})
  foreach(p IN LISTS ARG_PACKAGES)
    find_package(${p} REQUIRED)
  endforeach()
  set(target roost_${name})
  add_library(${target} ${ARG_SOURCES})
  add_library(roost::${name} ALIAS ${target})
  target_compile_features(${target} PUBLIC cxx_std_20)
  target_compile_options(${target} PRIVATE ${ROOST_WARNINGS})
  if(ARG_INTERNAL)
    target_include_directories(${target} PUBLIC
      $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include>)
    set_target_properties(${target} PROPERTIES ROOST_INTERNAL ON)
  else()
    target_include_directories(${target} PUBLIC
      $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include>
      $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  endif()
  target_include_directories(${target} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src)
  target_link_libraries(${target} PUBLIC ${ARG_DEPENDS} PRIVATE ${ARG_PRIVATE_DEPENDS})
  set_target_properties(${target} PROPERTIES EXPORT_NAME ${name} POSITION_INDEPENDENT_CODE ON)
  set_property(GLOBAL APPEND PROPERTY ROOST_MODULES ${name})
  set(uses "")
  foreach(d IN LISTS ARG_DEPENDS ARG_PRIVATE_DEPENDS)
    if(d MATCHES "^roost::(.+)$")
      list(APPEND uses ${CMAKE_MATCH_1})
    endif()
  endforeach()
  set_property(GLOBAL PROPERTY ROOST_MODULE_USES_${name} ${uses})
  set_property(GLOBAL PROPERTY ROOST_MODULE_PACKAGES_${name} ${ARG_PACKAGES})
endfunction()

# roost_add_transport(<name> SOURCES ... [DEPENDS ...] [PRIVATE_DEPENDS ...] [PACKAGES ...])
# A module that is also a transport: among its SOURCES, one (src/module.cpp by convention)
# defines `const roost::transport_module& roost::<name>::declared_transport() noexcept`, its
# name, URL schemes and factories (<roost/transport_module.hpp>). transports/any generates its
# scheme table from every module declared this way, so a new transport needs no edit there.
function(roost_add_transport name)
  roost_add_module(${name} ${ARGN})
  set_property(GLOBAL APPEND PROPERTY ROOST_TRANSPORT_MODULES ${name})
endfunction()

# roost_add_test(<name> SOURCES ... LIBS ... [LABELS ...])
function(roost_add_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  if(NOT ROOST_TEST_PROGRAMS_IN_ALL)
    set_target_properties(${name} PROPERTIES EXCLUDE_FROM_ALL ON)
  endif()
  target_compile_options(${name} PRIVATE ${ROOST_WARNINGS})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} GTest::gtest GTest::gtest_main)
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES TIMEOUT 120 LABELS "${ARG_LABELS}")
endfunction()
