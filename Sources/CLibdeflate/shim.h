#include <libdeflate.h>

// The version of the libdeflate kiln is built with. libdeflate 1.14 has no
// run-time version call; kiln links libdeflate.a statically
// (module.modulemap), so the header's version is the code's.
static inline const char *kiln_libdeflate_version(void) {
    return LIBDEFLATE_VERSION_STRING;
}
