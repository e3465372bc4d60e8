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

# summarize: reads lines "NAME wall user sys rss_kib bytes input_mib" (one
# per run of a row, rows in first-seen order) and prints the table twice:
# as markdown, then as JSON, one object per row between the lines
# "```json" and "```" (so a later run can be compared with this one):
#   {"tool", "runs", "wall_median", "wall_min", "wall_max", "cpu_median"
#    (user + system s), "rss_mib_max", "bytes" (median), "input_mib",
#    "mib_per_s" (input over median wall), "wall_ratio", "size_ratio"}
# The ratios are kiln-gzip's median wall and bytes over the row's (null
# without a kiln-gzip row or for rows of another input).
summarize() {
    awk '
        function median(list,    n, i, j, t, v) {
            n = split(list, v, " ")
            for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j - 1] + 0 > v[j] + 0; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
            return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
        }
        function ratio(a, b) { return (a == "" || b == "" || b + 0 == 0) ? "null" : sprintf("%.3f", a / b) }
        {
            t = $1
            if (!(t in runs)) { order[n++] = t; min[t] = $2; max[t] = $2 }
            runs[t]++
            walls[t] = walls[t] " " $2; cpus[t] = cpus[t] " " ($3 + $4); sizes[t] = sizes[t] " " $6
            if ($2 < min[t]) min[t] = $2
            if ($2 > max[t]) max[t] = $2
            if ($5 / 1024 > rss[t]) rss[t] = $5 / 1024
            input[t] = $7
        }
        END {
            for (i = 0; i < n; i++) { t = order[i]; wall[t] = median(walls[t]); cpu[t] = median(cpus[t]); size[t] = median(sizes[t]) }
            ref = ("kiln-gzip" in runs) ? "kiln-gzip" : ""
            print "| tool | runs | wall median s | wall min s | wall max s | cpu s | peak RSS MiB | MiB/s | bytes | kiln-gzip/x wall | kiln-gzip/x size |"
            print "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
            for (i = 0; i < n; i++) {
                t = order[i]
                same = ref != "" && input[t] == input[ref]
                wr[t] = same ? ratio(wall[ref], wall[t]) : "null"; sr[t] = same ? ratio(size[ref], size[t]) : "null"
                printf "| %s | %d | %.2f | %.2f | %.2f | %.2f | %.1f | %.1f | %.0f | %s | %s |\n", t, runs[t], wall[t], min[t], max[t], cpu[t], rss[t], input[t] / wall[t], size[t], wr[t] == "null" ? "" : wr[t], sr[t] == "null" ? "" : sr[t]
            }
            print ""
            print "```json"
            for (i = 0; i < n; i++) {
                t = order[i]
                printf "{\"tool\":\"%s\",\"runs\":%d,\"wall_median\":%.3f,\"wall_min\":%.3f,\"wall_max\":%.3f,\"cpu_median\":%.3f,\"rss_mib_max\":%.1f,\"bytes\":%.0f,\"input_mib\":%d,\"mib_per_s\":%.1f,\"wall_ratio\":%s,\"size_ratio\":%s}\n", t, runs[t], wall[t], min[t], max[t], cpu[t], rss[t], size[t], input[t], input[t] / wall[t], wr[t], sr[t]
            }
            print "```"
        }'
}
