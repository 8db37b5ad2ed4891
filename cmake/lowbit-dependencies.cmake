# Finding lowbit's dependencies, with a message that names the Debian package when one is missing.
# Installed beside lowbit-config.cmake: consumers of an installed lowbit use lowbit_find_xsimd() too.
include_guard(GLOBAL)

macro(lowbit_require_package name debian_package)
  find_package(${name} ${ARGN} QUIET)
  if(NOT ${name}_FOUND)
    message(FATAL_ERROR "lowbit needs ${name}: install the Debian package '${debian_package}' "
                        "(scripts/install-deps.sh installs everything lowbit's build needs)")
  endif()
endmacro()

macro(lowbit_find_xsimd)
  lowbit_require_package(xsimd libxsimd-dev 8.1 CONFIG)
  # Debian's xsimd 8.1.0 links a target named "xtl" that nothing defines ("cannot find -lxtl"):
  # use xtl if it is installed, otherwise an empty stand-in (xsimd's headers do not need it).
  if(TARGET xsimd AND NOT TARGET xtl)
    find_package(xtl QUIET CONFIG)
    if(NOT TARGET xtl)
      add_library(xtl INTERFACE IMPORTED)
    endif()
  endif()
endmacro()
