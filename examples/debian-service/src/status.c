/* The program of the debian-service example: a dynamically linked C
 * program that needs what the image's Debian packages bring at run time —
 * libc6 and zlib1g (the libraries it links), tzdata (time zones),
 * ca-certificates (the trust store) — and prints what it found. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

static int zone(const char *name, time_t when) {
    char path[256];
    snprintf(path, sizeof path, "/usr/share/zoneinfo/%s", name);
    FILE *file = fopen(path, "rb");
    if (file == NULL) {
        printf("time zone %s: missing\n", name);
        return 1;
    }
    fclose(file);
    setenv("TZ", name, 1);
    tzset();
    char text[64];
    strftime(text, sizeof text, "%Y-%m-%d %H:%M %Z", localtime(&when));
    printf("time zone %s: %s\n", name, text);
    return 0;
}

static int certificates(const char *path) {
    FILE *file = fopen(path, "r");
    if (file == NULL) {
        printf("certificates: %s missing\n", path);
        return 1;
    }
    char line[4096];
    int count = 0;
    while (fgets(line, sizeof line, file) != NULL) {
        if (strncmp(line, "-----BEGIN CERTIFICATE-----", 27) == 0) count++;
    }
    fclose(file);
    printf("certificates: %s\n", count > 100 ? "more than 100" : "too few");
    return count > 100 ? 0 : 1;
}

static int compression(void) {
    const char text[] = "kiln kiln kiln kiln kiln kiln kiln kiln kiln kiln kiln kiln";
    Bytef packed[256], unpacked[256];
    uLongf packedSize = sizeof packed, unpackedSize = sizeof unpacked;
    if (compress2(packed, &packedSize, (const Bytef *)text, sizeof text, 9) != Z_OK ||
        uncompress(unpacked, &unpackedSize, packed, packedSize) != Z_OK ||
        unpackedSize != sizeof text || memcmp(unpacked, text, sizeof text) != 0) {
        printf("zlib: round trip failed\n");
        return 1;
    }
    printf("zlib %s: round trip ok\n", zlibVersion());
    return 0;
}

int main(void) {
    time_t midsummer = 1718971200;  /* 2024-06-21 12:00 UTC */
    int failures = compression();
    failures += zone("UTC", midsummer);
    failures += zone("Europe/Paris", midsummer);
    failures += zone("America/New_York", midsummer);
    const char *bundle = getenv("SSL_CERT_FILE");
    failures += certificates(bundle != NULL ? bundle : "/etc/ssl/certs/ca-certificates.crt");
    printf("%s\n", failures == 0 ? "all runtime dependencies present" : "runtime dependencies missing");
    return failures == 0 ? 0 : 1;
}
