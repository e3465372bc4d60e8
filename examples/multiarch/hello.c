/* A static program the build layer cross-compiles once per platform. */
#include <stdio.h>
#include <sys/utsname.h>

int main(void) {
    struct utsname machine;
    uname(&machine);
    printf("hello from %s, built for %s, running on %s\n", KILN_IMAGE, TARGET_PLATFORM, machine.machine);
    return 0;
}
