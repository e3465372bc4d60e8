#include <zlib.h>

// ---- inflate (decompression) ----
// zlib's init functions are macros that pass the header's version and the
// stream's size; Swift cannot call macros, so they are wrapped here.
static inline int kiln_inflateInit2(z_streamp stream, int windowBits) {
    return inflateInit2(stream, windowBits);
}
// ---- end inflate ----
