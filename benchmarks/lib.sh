# Shell functions shared by benchmarks/run and benchmarks/registry; sourced,
# not run. Both expect $work, the benchmark's scratch directory, with the
# build context in $work/ctx.

# plan NAME COMPRESSION SOURCE: a plan with one files layer copying the
# directory SOURCE to /SOURCE in the image (one source, so files hard-linked
# to each other inside it stay tar hardlinks, as umoci keeps them).
plan() {
    local name=$1 compression=$2 source=$3
    {
        echo "kiln: 1"
        echo "name: bench/$name"
        echo "created: \"2024-01-01T00:00:00Z\""
        echo "compression: $compression"
        echo "layers:"
        echo "  - name: $source"
        echo "    type: files"
        echo "    files:"
        echo "      - { path: /$source, source: $source }"
    } >"$work/ctx/$name.yaml"
}

# measure NAME OUTPUT COMMAND...: one line "NAME wall user sys rss_kib bytes",
# bytes being OUTPUT's size, or its largest blob's when OUTPUT is a layout.
# A command that fails prints its log on stderr and exits the script.
measure() {
    local name=$1 output=$2
    shift 2
    sync
    if ! /usr/bin/time -f '%e %U %S %M' -o "$work/time" "$@" >"$work/log" 2>&1; then
        cat "$work/log" >&2
        exit 1
    fi
    local size
    size=$(if [ -d "$output" ]; then ls -S "$output"/blobs/sha256/* | head -1 | xargs stat -c %s; else stat -c %s "$output"; fi)
    echo "$name $(cat "$work/time") $size"
}
