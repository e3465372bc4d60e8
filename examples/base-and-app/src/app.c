/* The app of the base-and-app example: prints the configuration it
 * inherits from the base and checks that what its plan removed is gone. */
#include <stdio.h>
#include <unistd.h>

static void show(const char *path) {
    FILE *file = fopen(path, "r");
    if (file == NULL) {
        printf("%s: missing\n", path);
        return;
    }
    char line[256];
    while (fgets(line, sizeof line, file) != NULL) printf("%s: %s", path, line);
    fclose(file);
}

int main(void) {
    show("/etc/app/app.conf");
    const char *removed[] = {"/etc/app/debug.conf", "/usr/bin/sh", "/usr/bin/busybox", "/usr/share/doc"};
    for (unsigned i = 0; i < sizeof removed / sizeof removed[0]; i++) {
        printf("%s: %s\n", removed[i], access(removed[i], F_OK) == 0 ? "still there" : "removed");
    }
    return 0;
}
