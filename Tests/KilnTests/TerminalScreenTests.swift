import Foundation
import Testing
import TestSupport

/// What a person sees on a terminal while kiln builds (SPEC §4, issue 20):
/// kiln runs in tmux at 80 and 100 columns and the tests read the screen
/// while a slow layer runs and after it ends. The slow parts wait for a
/// file the test creates once it has seen what it looks for, so nothing
/// depends on timing.
@Suite(.requires(.kilnBinary, TerminalScreen.requirement))
struct TerminalScreenTests {
    let scratch: TemporaryDirectory

    init() throws {
        scratch = try TemporaryDirectory(prefix: "kiln-screen")
    }

    /// A build command that says one line and then waits for `gate`.
    func slowPlan(gate: String) throws {
        try scratch.write("slow.yaml", """
            kiln: 1
            name: example.com/screen/slow
            tag: "1"
            layers:
              - name: compile
                type: build
                command: |
                  echo "compiling part 1 of 2"
                  while [ ! -e \(gate) ]; do sleep 0.05; done
                  mkdir -p "$KILN_OUT/opt" && echo done > "$KILN_OUT/opt/out"

            """)
    }

    func kiln(_ arguments: [String], columns: Int) throws -> TerminalScreen {
        try TerminalScreen([KilnBinary.path] + arguments + ["--cache-dir", scratch.path("cache")], in: scratch.path, columns: columns)
    }

    /// Finding: a running build command showed `slow (build): 0 B…` for its
    /// whole run. Its live line now shows how long it has run — moving on
    /// its own while the command is quiet — and its last output line; at
    /// 80 columns the summary is one row (the compact form, without the
    /// diff_id), and no live line is left behind.
    @Test func aRunningCommandShowsItsElapsedTimeAndLastLineAt80Columns() throws {
        let gate = scratch.path("go")
        try slowPlan(gate: gate)
        let screen = try kiln(["build", "slow.yaml", "-o", "out"], columns: 80)
        let running = try screen.waitFor("a live line past 0:01") { rows in
            rows.contains { $0.hasPrefix("  compile (build) running 0:0") && !$0.contains("running 0:00") && $0.hasSuffix("  compiling part 1 of 2") }
        }
        #expect(running.contains("[compile] compiling part 1 of 2"), "\(running)")
        FileManager.default.createFile(atPath: gate, contents: nil)
        let (status, rows) = try screen.waitForExit()
        #expect(status == 0, "\(rows)")
        #expect(!rows.contains { $0.contains("(build) running") }, "a live line stayed: \(rows)")
        let header = try #require(rows.first { $0.hasPrefix("layer ") }, "\(rows)")
        #expect(!header.contains("diff_id") && header.contains("digest"), "\(header)")
        let summary = try #require(rows.first { $0.hasPrefix("compile ") }, "\(rows)")
        #expect(summary.range(of: #"^compile +build +2 +\S+ \S+ → \S+ +\S+ +[0-9a-f]{12} built [0-9.]+s$"#, options: .regularExpression) != nil, "\(summary)")
        #expect(rows.allSatisfy { $0.count <= 80 })
    }

    /// At 100 columns the summary keeps every column of SPEC §4: diff_id
    /// and digest (12 hex digits each) on the layer's one row.
    @Test func theSummaryAt100ColumnsHasDiffIDAndDigestOnOneRow() throws {
        let gate = scratch.path("go")
        try slowPlan(gate: gate)
        FileManager.default.createFile(atPath: gate, contents: nil)
        let screen = try kiln(["build", "slow.yaml", "-o", "out"], columns: 100)
        let (status, rows) = try screen.waitForExit()
        #expect(status == 0, "\(rows)")
        let header = try #require(rows.first { $0.hasPrefix("layer ") }, "\(rows)")
        #expect(header.contains("diff_id") && header.contains("digest"), "\(header)")
        let summary = try #require(rows.first { $0.hasPrefix("compile ") }, "\(rows)")
        #expect(summary.range(of: #" [0-9a-f]{12} [0-9a-f]{12} built [0-9.]+s$"#, options: .regularExpression) != nil, "\(summary)")
        #expect(summary.contains("2 entries"), "\(summary)")
    }

    /// SPEC §4: package downloads have a live line with a bar and
    /// percentage (the total is known from the lock before anything is
    /// fetched), bytes done of the total, throughput and ETA. The server
    /// sends half of the `.deb` and holds the rest until the test has seen
    /// the line.
    @Test(.requires(.tools("dpkg-deb", "python3")))
    func aPackageDownloadShowsABarBytesThroughputAndETA() throws {
        var generator = SplitMix64(seed: 7)
        try scratch.write("pkg/DEBIAN/control", "Package: blob\nVersion: 1.0\nArchitecture: all\nMaintainer: kiln <kiln@example.com>\nDescription: test\n")
        try scratch.write("pkg/usr/share/blob/data", bytes: generator.bytes(1 << 20))
        try scratch.directory("debs")
        try Tools.run(["dpkg-deb", "--root-owner-group", "-Znone", "-b", scratch.path("pkg"), scratch.path("debs/blob_1.0_all.deb")])
        try scratch.write("app.yaml", """
            kiln: 1
            name: example.com/screen/app
            platform: linux/amd64
            layers:
              - name: runtime
                type: packages
                names: [blob]
                sources: [{ dir: debs }]

            """)
        let lock = try Tools.kiln(["lock", "app.yaml", "--cache-dir", scratch.path("lock-cache")], in: scratch.path)
        try #require(lock.succeeded, "\(lock.stderr)")

        let gate = scratch.path("release")
        let server = try PythonServer(["-c", Self.gatedServer, scratch.path("debs/blob_1.0_all.deb"), gate])
        defer { server.stop() }
        let port = try #require(server.firstLine.split(separator: " ").last)
        // The lock names the .deb where a repository would serve it.
        let lockPath = scratch.path("app.lock.json")
        let text = try String(contentsOfFile: lockPath, encoding: .utf8)
        let served = text.replacingOccurrences(
            of: #""url":"[^"]*blob_1.0_all.deb""#, with: "\"url\":\"http://127.0.0.1:\(port)/blob_1.0_all.deb\"", options: .regularExpression)
        try #require(served != text, "no url to replace in \(text)")
        try served.write(toFile: lockPath, atomically: true, encoding: .utf8)

        let screen = try kiln(["build", "app.yaml", "--locked", "-o", "out"], columns: 100)
        let moving = try screen.waitFor("a download line with an ETA") { rows in
            rows.contains { $0.hasPrefix("  runtime (packages) fetching 0/1 packages  [") && $0.contains("%") && $0.contains(" / ") && $0.contains("/s  ETA ") }
        }
        let line = try #require(moving.first { $0.contains("fetching 0/1 packages") })
        #expect(line.range(of: #"\[#*-*\] +[0-9]+%  [0-9.]+ [KM]i?B / 1\.0 MiB  "#, options: .regularExpression) != nil, "\(line)")
        FileManager.default.createFile(atPath: gate, contents: nil)
        let (status, rows) = try screen.waitForExit()
        #expect(status == 0, "\(rows)")
        #expect(rows.contains { $0.hasPrefix("[runtime] fetched blob_1.0_all.deb (") }, "\(rows)")
        #expect(!rows.contains { $0.contains("fetching 0/1") }, "a live line stayed: \(rows)")
        #expect(rows.contains { $0.hasPrefix("runtime ") && $0.contains(" built ") }, "\(rows)")
    }

    /// Serves one file at any path: its headers (with Content-Length) and
    /// the first half at once, the rest when the gate file exists.
    static let gatedServer = """
        import http.server, os, sys, time
        path, gate = sys.argv[1], sys.argv[2]
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                data = open(path, 'rb').read()
                self.send_response(200)
                self.send_header('Content-Length', str(len(data)))
                self.end_headers()
                self.wfile.write(data[:len(data) // 2])
                self.wfile.flush()
                while not os.path.exists(gate):
                    time.sleep(0.02)
                self.wfile.write(data[len(data) // 2:])
            def log_message(self, *args):
                pass
        server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        print('port', server.server_address[1], flush=True)
        server.serve_forever()
        """
}
