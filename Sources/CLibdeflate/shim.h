#include <libdeflate.h>

// The header's version, as a function Swift can call (the macro is a
// string literal Swift imports, but a function keeps the seam in one place).
// libdeflate 1.14 has no runtime version call; Debian's libdeflate0 and
// libdeflate-dev come from one source package at one version.
static inline const char *kiln_libdeflate_version(void) {
    return LIBDEFLATE_VERSION_STRING;
}
