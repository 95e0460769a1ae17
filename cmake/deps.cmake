# Every dependency is a Debian package installed by scripts/deps.sh.
find_package(PkgConfig REQUIRED)
pkg_check_modules(OPENSSL REQUIRED IMPORTED_TARGET libcrypto)
pkg_check_modules(SQLITE REQUIRED IMPORTED_TARGET sqlite3)
pkg_check_modules(LIBARCHIVE REQUIRED IMPORTED_TARGET libarchive)
pkg_check_modules(JANSSON REQUIRED IMPORTED_TARGET jansson)
pkg_check_modules(YARA REQUIRED IMPORTED_TARGET yara)
pkg_check_modules(LIBPQ REQUIRED IMPORTED_TARGET libpq)
pkg_check_modules(MHD REQUIRED IMPORTED_TARGET libmicrohttpd)
# Debian's Zydis ships a CMake package, not a pkg-config file.
find_package(zydis REQUIRED)
set(STRAIN_DEP_TARGETS PkgConfig::OPENSSL PkgConfig::SQLITE PkgConfig::LIBARCHIVE
    PkgConfig::JANSSON PkgConfig::YARA PkgConfig::LIBPQ PkgConfig::MHD Zydis::Zydis)
if(STRAIN_TESTS)
    pkg_check_modules(CMOCKA REQUIRED IMPORTED_TARGET cmocka)
endif()
