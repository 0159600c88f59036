# Installs every module with its headers and exports roost::<module> targets, with a
# component-aware roostConfig.cmake: find_package(roost REQUIRED COMPONENTS tcp).
include_guard(GLOBAL)
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

get_property(roost_modules GLOBAL PROPERTY ROOST_MODULES)
set(roost_header_dirs "")
# What each module needs, for roostConfig.cmake: the modules it links and the packages to find.
set(ROOST_MODULE_REQUIREMENTS "")
foreach(m IN LISTS roost_modules)
  get_property(uses GLOBAL PROPERTY ROOST_MODULE_USES_${m})
  get_property(packages GLOBAL PROPERTY ROOST_MODULE_PACKAGES_${m})
  string(APPEND ROOST_MODULE_REQUIREMENTS
    "set(_roost_uses_${m} ${uses})\nset(_roost_packages_${m} ${packages})\n")
  install(TARGETS roost_${m} EXPORT roost_${m}_targets
    ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
    LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
    RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
    INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
  # A folder may hold several modules (core and codec, tcp and tcp_codec): one copy of its headers.
  get_target_property(src roost_${m} SOURCE_DIR)
  get_target_property(internal roost_${m} ROOST_INTERNAL)
  if(NOT internal AND NOT src IN_LIST roost_header_dirs)
    list(APPEND roost_header_dirs ${src})
    install(DIRECTORY ${src}/include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
  endif()
  install(EXPORT roost_${m}_targets NAMESPACE roost::
    FILE roost_${m}-targets.cmake
    DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/roost)
endforeach()

set(ROOST_INSTALLED_MODULES ${roost_modules})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/roostConfig.cmake.in
  ${PROJECT_BINARY_DIR}/roostConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/roost)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/roostConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/roostConfig.cmake ${PROJECT_BINARY_DIR}/roostConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/roost)
