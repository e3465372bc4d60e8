#!/usr/bin/env bash
# Times `kiln validate` on a generated plan of 1,000 layers (250 of each
# strategy: files with inline content, symlinks and directories; packages;
# build with inputs and env; derivation) and prints the median of several
# runs. A benchmark, not a test: it asserts nothing.
#
#   benchmarks/parse-plan.sh [LAYERS] [RUNS]
#
# Builds kiln in release mode first (KILN=path/to/kiln skips that). Uses
# hyperfine when installed, else times the runs itself.
set -euo pipefail

layers=${1:-1000}
runs=${2:-15}
root=$(cd "$(dirname "$0")/.." && pwd)

if [[ -z "${KILN:-}" ]]; then
    swift build -c release --product kiln --package-path "$root" >&2
    KILN="$(swift build -c release --show-bin-path --package-path "$root")/kiln"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/src"
echo 'int main(void) { return 0; }' > "$work/src/main.c"

hash32=0c4wpbvxxqkvbq0x3v6rhwsh3b6j2n8j
{
    echo "kiln: 1"
    echo "name: example.com/bench/many-layers"
    echo "tag: \"1.0\""
    echo "created: \"2024-01-01T00:00:00Z\""
    echo "layers:"
    for ((i = 0; i < layers; i++)); do
        case $((i % 4)) in
        0)
            echo "  - name: files-$i"
            echo "    type: files"
            echo "    files:"
            echo "      - { path: /opt/l$i/config.yaml, content: \"layer: $i\\n\", mode: \"0640\", owner: \"65532:65532\" }"
            echo "      - { path: /opt/l$i/bin, directory: true }"
            echo "      - { path: /opt/l$i/current, symlink: /opt/l$i/bin }"
            echo "      - path: /opt/l$i/README"
            echo "        content: |"
            echo "          Layer $i of a generated plan."
            ;;
        1)
            echo "  - name: packages-$i"
            echo "    type: packages"
            echo "    names: [ca-certificates, \"libc6 (>= 2.36)\", tzdata=2024a-0+deb12u1]"
            echo "    sources:"
            echo "      - system"
            echo "      - { uri: \"https://deb.example.com/debian\", suite: bookworm, components: [main] }"
            echo "    exclude: [perl-base]"
            ;;
        2)
            echo "  - name: build-$i"
            echo "    type: build"
            echo "    command: make -C src install DESTDIR=\"\$KILN_OUT\" LAYER=$i"
            echo "    inputs: [src]"
            echo "    env: { CFLAGS: -O2, LAYER: \"$i\" }"
            echo "    timeout: 600"
            ;;
        3)
            echo "  - name: derivation-$i"
            echo "    type: derivation"
            echo "    store_path: /nix/store/$hash32-pkg-$i"
            echo "    closure: false"
            ;;
        esac
    done
    echo "entrypoint: [\"/opt/l0/bin/app\"]"
    echo "env: { MODE: bench }"
} > "$work/plan.yaml"

"$KILN" validate "$work/plan.yaml" >&2
echo "plan: $layers layers, $(wc -c < "$work/plan.yaml") bytes, $(wc -l < "$work/plan.yaml") lines" >&2

if command -v hyperfine > /dev/null; then
    hyperfine --warmup 3 --runs "$runs" --export-json "$work/times.json" \
        "$KILN validate $work/plan.yaml" >&2
    python3 - "$work/times.json" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))["results"][0]
print("median %.1f ms (min %.1f, max %.1f, %d runs)" % (t["median"] * 1000, t["min"] * 1000, t["max"] * 1000, len(t["times"])))
PY
else
    times=()
    for ((r = 0; r < runs; r++)); do
        start=$(date +%s%N)
        "$KILN" validate "$work/plan.yaml" 2> /dev/null
        end=$(date +%s%N)
        times+=($(((end - start) / 1000)))
    done
    sorted=($(printf '%s\n' "${times[@]}" | sort -n))
    median=${sorted[$((runs / 2))]}
    echo "median $((median / 1000)).$(((median % 1000) / 100)) ms ($runs runs)"
fi
