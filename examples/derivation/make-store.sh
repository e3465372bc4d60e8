#!/usr/bin/env bash
# Creates the small Nix-style store examples/derivation/derivation.yaml reads,
# so the example runs without Nix: a statically linked `hello` that reads a
# greeting from another store path (a reference kiln finds in the binary),
# and an unrelated store path the closure must leave out.
#   examples/derivation/make-store.sh [STORE_DIR]
set -euo pipefail
store=${1:-/var/tmp/kiln-example/nix/store}
hello=$store/0c4wpbvxxqkvbq0x3v6rhwsh3b6j2n8j-hello-2.12
greeting=$store/1b9p6kq0vd2x7cmhzsfw5g3r8jyl4na0-greeting-1.0
unrelated=$store/2zdqxw1c6mjv0b5lkp3nf9yg8sra4hi7-unrelated-0.1

command -v cc >/dev/null || { echo "make-store.sh: needs a C compiler (apt-get install gcc libc6-dev)" >&2; exit 1; }
rm -rf "$hello" "$greeting" "$unrelated"
mkdir -p "$hello/bin" "$greeting/share" "$unrelated"
printf 'Hello from a store path.\n' > "$greeting/share/greeting.txt"
printf 'nothing refers to this\n' > "$unrelated/README"
source=$(mktemp --suffix=.c)
trap 'rm -f "$source"' EXIT
cat > "$source" <<C
#include <stdio.h>
int main(void) {
    FILE *f = fopen("$greeting/share/greeting.txt", "r");
    int c;
    if (!f) { perror("greeting"); return 1; }
    while ((c = fgetc(f)) != EOF) putchar(c);
    return 0;
}
C
cc -static -O2 -o "$hello/bin/hello" "$source"
# Store objects are read-only, as Nix leaves them.
chmod -R a-w "$hello" "$greeting" "$unrelated"
echo "store ready: $store"
