#include <zlib.h>

// ---- inflate (decompression) ----
// zlib's init functions are macros that pass the header's version and the
// stream's size; Swift cannot call macros, so they are wrapped here.
static inline int kiln_inflateInit2(z_streamp stream, int windowBits) {
    return inflateInit2(stream, windowBits);
}
// ---- end inflate ----

// ---- deflate (compression) ----
static inline int kiln_deflateInit2(z_streamp stream, int level, int method, int windowBits, int memLevel, int strategy) {
    return deflateInit2(stream, level, method, windowBits, memLevel, strategy);
}
// ---- end deflate ----
