import KilnCore
import Foundation
import Testing
import TestSupport

/// A `kiln build` that fails exits 1 with a message naming what failed, and
/// leaves nothing behind: the previous output byte for byte as it was, no
/// `.NAME.kiln-*` staging sibling, nothing in `TMPDIR`.
@Suite struct BuildFailureTests {
    let scratch: TemporaryDirectory
    /// kiln's `TMPDIR`, empty before and after every build.
    let tmpdir: String

    init() throws {
        scratch = try TemporaryDirectory(prefix: "kiln-e2e-failures")
        tmpdir = try scratch.directory("tmp", mode: 0o1777)
        try scratch.write("good/plan.yaml", """
            kiln: 1
            name: example.com/e2e/good
            layers:
              - name: motd
                type: files
                files:
                  - { path: /etc/motd, content: "hello\\n" }

            """)
    }

    var environment: [String: String] {
        Build.environment(cache: scratch.path + "/cache", setting: ["TMPDIR": tmpdir])
    }

    /// Builds the good plan into `output` and returns what it wrote.
    func previous(_ output: String) throws -> [String: [UInt8]] {
        try Build.layout(["good/plan.yaml", "-o", output], in: scratch.path, environment: environment)
        return try Build.files(scratch.path(output))
    }

    /// The failure's outcome: exit 1, nothing on stdout, `stderr` ending in
    /// exactly `message`, and no trace of the build left anywhere.
    func expectFailure(_ result: ProcessResult, endsWith message: [String], beside parent: String,
                       sourceLocation: SourceLocation = #_sourceLocation) throws {
        #expect(result.status == 1, sourceLocation: sourceLocation)
        #expect(result.stdout.isEmpty, sourceLocation: sourceLocation)
        #expect(Array(result.stderrLines.suffix(message.count)) == message, sourceLocation: sourceLocation)
        #expect(try Build.leftovers(in: parent) == [], sourceLocation: sourceLocation)
        #expect(try Build.temporaryLeftovers(tmpdir) == [], sourceLocation: sourceLocation)
    }

    @Test func failingBuildCommandNamesTheLayerStatusAndOutputTail() throws {
        let before = try previous("out")
        try scratch.write("broken/plan.yaml", """
            kiln: 1
            name: example.com/e2e/broken
            layers:
              - name: broken
                type: build
                command: 'for i in $(seq 1 30); do echo "line $i"; done; exit 3'

            """)
        let result = try Build.run(["broken/plan.yaml", "-o", "out"], in: scratch.path, environment: environment)
        // Streamed with the layer's name, then the error with the last 20 lines.
        let streamed = (1...30).map { "[broken] line \($0)" }
        let tail = (11...30).map { "  line \($0)" }
        #expect(result.stderrLines == streamed + ["kiln: error: layer \"broken\": command exited with status 3", "last lines of output:"] + tail)
        try expectFailure(result, endsWith: tail, beside: scratch.path)
        #expect(try Build.files(scratch.path("out")) == before)
    }

    @Test func aLaterLayerFailingLeavesNoBlobOfTheEarlierOnes() throws {
        try scratch.write("mixed/plan.yaml", """
            kiln: 1
            name: example.com/e2e/mixed
            layers:
              - name: fine
                type: files
                files:
                  - { path: /fine, content: "fine\\n" }
              - name: fails
                type: build
                command: [/bin/false]

            """)
        let result = try Build.run(["mixed/plan.yaml", "-o", "new/out", "--tar", "new/out.tar"], in: scratch.path, environment: environment)
        try expectFailure(result, endsWith: ["kiln: error: layer \"fails\": command exited with status 1"], beside: scratch.path)
        // `new/` was created for the output, so it goes again.
        #expect(!FileManager.default.fileExists(atPath: scratch.path("new")))
    }

    @Test func anOutputThatIsARegularFileIsLeftAlone() throws {
        let file = try scratch.write("out", "precious\n")
        let result = try Build.run(["good/plan.yaml", "-o", "out"], in: scratch.path, environment: environment)
        try expectFailure(result, endsWith: ["kiln: error: output \(file) exists and is not a directory"], beside: scratch.path)
        #expect(try Files.text(file) == "precious\n")
    }

    @Test func anOutputDirectoryThatIsNotALayoutIsLeftAlone() throws {
        try scratch.write("home/notes.txt", "precious\n")
        let result = try Build.run(["good/plan.yaml", "-o", "home"], in: scratch.path, environment: environment)
        try expectFailure(result, endsWith: [
            "kiln: error: output \(scratch.path("home")) is a directory that is not an OCI image layout: it holds \"notes.txt\"; kiln replaces only a layout or an empty directory, so choose another output or empty it",
        ], beside: scratch.path)
        #expect(try Build.files(scratch.path("home")) == ["notes.txt": Array("precious\n".utf8)])
    }

    /// A layout is replaced whole, so files someone put beside one would go
    /// with it: kiln names them and leaves everything as it was.
    @Test func aLayoutHoldingOtherFilesIsLeftAlone() throws {
        _ = try previous("out")
        try scratch.write("out/important.txt", "precious\n")
        try scratch.write("out/sub/data", "mine\n")
        try scratch.write("out/blobs/sha256/notes/x", "nested\n")
        let before = try Build.files(scratch.path("out"))
        let result = try Build.run(["good/plan.yaml", "-o", "out"], in: scratch.path, environment: environment)
        try expectFailure(result, endsWith: [
            "kiln: error: output \(scratch.path("out")) is an OCI image layout but also holds \"blobs/sha256/notes\", \"important.txt\", \"sub\"; kiln replaces the whole directory, so move them out of it or choose another output",
        ], beside: scratch.path)
        #expect(try Build.files(scratch.path("out")) == before)
    }

    /// A build input whose name is not UTF-8 is named as such (it was
    /// reported as "No such file or directory" for a file that exists),
    /// whether the cache key or the copy meets it first.
    @Test(arguments: [false, true])
    func aNonUTF8InputNameIsNamed(noCache: Bool) throws {
        try scratch.write("nu/plan.yaml", """
            kiln: 1
            name: example.com/e2e/nu
            layers:
              - name: b
                type: build
                command: ls src > "$KILN_OUT/list"
                inputs: [src]

            """)
        try Tools.run(["sh", "-c", "mkdir -p nu/src && printf x > \"nu/src/$(printf 'bad\\377name')\""], in: scratch.path)
        let result = try Build.run(["nu/plan.yaml", "-o", "out"] + (noCache ? ["--no-cache"] : []), in: scratch.path, environment: environment)
        try expectFailure(result, endsWith: [
            "kiln: error: layer \"b\": input \(scratch.path("nu/src"))/bad\u{FFFD}name: file names and symlink targets must be valid UTF-8",
        ], beside: scratch.path)
    }

    @Test func lockedWithoutALockFileIsAnError() throws {
        try Self.writePackagesPlan(in: scratch)
        let before = try previous("out")
        let result = try Build.run(["pkgs/plan.yaml", "--locked", "-o", "out"], in: scratch.path, environment: environment)
        try expectFailure(result, endsWith: [
            "kiln: error: --locked: \(scratch.path("pkgs/plan.lock.json")): no lock file; run `kiln lock` to resolve the packages and write it",
        ], beside: scratch.path)
        #expect(try Build.files(scratch.path("out")) == before)

        // Locked, it builds; with the plan's packages inputs changed, the
        // lock is stale and --locked refuses it again.
        let lock = try Tools.execute([KilnBinary.path, "lock", "pkgs/plan.yaml"], in: scratch.path, environment: environment)
        #expect(lock.status == 0, "\(lock.stderr)")
        try Build.layout(["pkgs/plan.yaml", "--locked", "-o", "locked"], in: scratch.path, environment: environment)
        try scratch.write("pkgs/plan.yaml", try Files.text(scratch.path("pkgs/plan.yaml")) + "    exclude: [nothing]\n")
        let stale = try Build.run(["pkgs/plan.yaml", "--locked", "-o", "out"], in: scratch.path, environment: environment)
        try expectFailure(stale, endsWith: [
            "kiln: error: --locked: \(scratch.path("pkgs/plan.lock.json")): the lock file is stale for layer \"pkgs\" (the plan's packages inputs changed); run `kiln lock`",
        ], beside: scratch.path)
        #expect(try Build.files(scratch.path("out")) == before)
    }

    /// A packages layer from a local directory holding one `.deb` made by
    /// dpkg-deb, so `--locked` can be checked without a network.
    static func writePackagesPlan(in scratch: TemporaryDirectory) throws {
        try scratch.write("pkgs/pkg/DEBIAN/control", """
            Package: kiln-demo
            Version: 1.0
            Architecture: all
            Maintainer: kiln <kiln@example.com>
            Description: a package for the tests

            """)
        try scratch.write("pkgs/pkg/usr/share/kiln-demo/README", "demo\n")
        try scratch.directory("pkgs/debs")
        try Tools.run(["dpkg-deb", "--root-owner-group", "-Zgzip", "-b", scratch.path("pkgs/pkg"), scratch.path("pkgs/debs/kiln-demo_1.0_all.deb")])
        try scratch.write("pkgs/plan.yaml", """
            kiln: 1
            name: example.com/e2e/pkgs
            layers:
              - name: pkgs
                type: packages
                names: [kiln-demo]
                sources: [{ dir: debs }]

            """)
    }

    // MARK: As an unprivileged user

    /// Runs kiln as uid/gid 65534 (CI runs the tests as root, whom no
    /// permission stops).
    func buildAsNobody(_ arguments: [String]) throws -> ProcessResult {
        try scratch.allowEveryone()
        try scratch.directory("cache", mode: 0o777)
        return try Tools.execute(Tools.asNobody([KilnBinary.path, "build"] + arguments), in: scratch.path, environment: environment)
    }

    @Test(.requires(.root, .tools("setpriv")))
    func aReadOnlyOutputParentIsAnError() throws {
        try scratch.directory("readonly", mode: 0o755)
        let result = try buildAsNobody(["good/plan.yaml", "-o", "readonly/out"])
        #expect(result.status == 1)
        let parent = scratch.path("readonly")
        let message = try #require(result.stderrLines.last)
        #expect(message.wholeMatch(of: try Regex(
            #"kiln: error: output: cannot create directory \#(NSRegularExpression.escapedPattern(for: parent))/\.out\.kiln-[0-9]+-[0-9a-f]{16}: Permission denied"#)) != nil,
            "\(message)")
        #expect(try Files.entries(parent) == [])
        #expect(try Build.temporaryLeftovers(tmpdir) == [])
    }

    @Test(.requires(.root, .tools("setpriv")))
    func anUnreadableSourceDirectoryIsAnErrorAtItsPlanEntry() throws {
        try scratch.write("locked/plan.yaml", """
            kiln: 1
            name: example.com/e2e/locked
            layers:
              - name: tree
                type: files
                files:
                  - { path: /srv, source: src }

            """)
        try scratch.write("locked/src/open.txt", "open\n")
        try scratch.write("locked/src/closed/inner.txt", "secret\n")
        try Tools.run(["chmod", "-R", "a+rX", scratch.path("locked")])
        try scratch.directory("locked/src/closed", mode: 0o000)
        try scratch.directory("outputs", mode: 0o777)
        let result = try buildAsNobody(["locked/plan.yaml", "-o", "outputs/out"])
        try expectFailure(result, endsWith: [
            "locked/plan.yaml:7:9: error: layer \"tree\": cannot read directory \(scratch.path("locked/src/closed")): Permission denied",
        ], beside: scratch.path("outputs"))
        #expect(try Files.entries(scratch.path("outputs")) == [])
    }

    // MARK: A full disk

    /// A 512 KiB tmpfs mounted for the test (root can mount; CI runs as root).
    final class TinyFileSystem {
        let path: String

        init(at path: String) throws {
            self.path = path
            try Tools.run(["mount", "-t", "tmpfs", "-o", "size=512k,mode=0755", "tmpfs", path])
        }

        deinit {
            _ = try? Tools.run(["umount", path])
        }
    }

    @Test(.requires(.root, .tools("mount", "umount", "head")))
    func aFullDiskLeavesThePreviousOutputAndNoPartialFiles() throws {
        let disk = try TinyFileSystem(at: try scratch.directory("disk"))
        try scratch.write("big/plan.yaml", """
            kiln: 1
            name: example.com/e2e/big
            layers:
              - name: big
                type: files
                files:
                  - { path: /big.bin, source: big.bin }

            """)
        let before = try previous("disk/out")

        // Random bytes do not compress: a 1 MiB layer cannot fit.
        try Tools.run(["sh", "-c", "head -c 1048576 /dev/urandom > big/big.bin"], in: scratch.path)
        let result = try Build.run(["big/plan.yaml", "-o", "disk/out"], in: scratch.path, environment: environment)
        #expect(result.status == 1)
        let message = try #require(result.stderrLines.last)
        #expect(message.wholeMatch(of: try Regex(
            #"kiln: error: layer "big": cannot write layer blob \#(NSRegularExpression.escapedPattern(for: disk.path))/\.out\.kiln-[0-9]+-[0-9a-f]{16}/tmp/blob-1: No space left on device"#)) != nil,
            "\(message)")
        try expectFailure(result, endsWith: [message], beside: disk.path)
        #expect(try Build.files(disk.path + "/out") == before)
        #expect(try Files.entries(disk.path) == ["out"])

        // A layer that fits, with an archive that does not: the archive's
        // temporary file goes too, and the layout stays the previous one.
        try Tools.run(["sh", "-c", "head -c 300000 /dev/urandom > big/big.bin"], in: scratch.path)
        let archive = try Build.run(["big/plan.yaml", "-o", "disk/out", "--tar", "disk/out.tar"], in: scratch.path, environment: environment)
        let archiveMessage = try #require(archive.stderrLines.last)
        #expect(archiveMessage.wholeMatch(of: try Regex(
            #"kiln: error: output: cannot write the archive \#(NSRegularExpression.escapedPattern(for: disk.path))/out\.tar: cannot write \#(NSRegularExpression.escapedPattern(for: disk.path))/\.out\.tar\.kiln-[0-9a-f]{16}: No space left on device"#)) != nil,
            "\(archiveMessage)")
        try expectFailure(archive, endsWith: [archiveMessage], beside: disk.path)
        #expect(try Build.files(disk.path + "/out") == before)
        #expect(try Files.entries(disk.path) == ["out"])
    }
}
