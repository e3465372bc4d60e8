// The shared thread pool (ZSTD_createThreadPool, ZSTD_CCtx_refThreadPool)
// is in the "static" section of the API, which libzstd's shared library
// exports too.
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>
