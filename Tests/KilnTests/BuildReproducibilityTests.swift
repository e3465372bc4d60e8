import KilnCore
import Foundation
import Testing
import TestSupport

/// The SPEC §2 guarantee through the real binary: the same plan and inputs
/// give a byte-identical layout whatever the checkout's path, the umask,
/// the files' mtimes and creation order, the number of jobs, and the
/// environment — for files, build and derivation layers alike.
@Suite(.requires(.tools("tar", "touch")))
struct BuildReproducibilityTests {
    /// What differs between the reference build and the other one.
    enum Variant: String, CaseIterable, CustomTestStringConvertible {
        case anotherPath, anotherUmask, privateCheckout, touchedMtimes, reversedCreation, oneJob, anotherEnvironment

        var testDescription: String { rawValue }
    }

    let scratch: TemporaryDirectory

    init() throws {
        scratch = try TemporaryDirectory(prefix: "kiln-e2e-repro")
    }

    /// The derivation layer's store, at one absolute path for every build
    /// (a store path is part of the image).
    var store: String { scratch.path("store/nix/store") }
    static let tool = "0c4wpbvxxqkvbq0x3v6rhwsh3b6j2n8j-tool-1.0"
    static let data = "1b9p6kq0vd2x7cmhzsfw5g3r8jyl4na0-data-2.0"
    static let unrelated = "2zdqxw1c6mjv0b5lkp3nf9yg8sra4hi7-unrelated-0.1"

    var plan: String {
        """
        kiln: 1
        name: example.com/e2e/repro
        created: "2024-01-01T00:00:00Z"
        layers:
          - name: tree
            type: files
            files:
              - { path: /srv, source: src }
              - { path: /etc/motd, content: "hello\\n" }
          - name: rooted
            type: files
            root: rootfs
            paths: [etc/app, usr/local/bin]
          - name: gen
            type: build
            inputs: [src]
            command: |
              set -eu
              mkdir -p "$KILN_OUT/opt/gen/made"
              cat src/b.txt src/a/x.txt > "$KILN_OUT/opt/gen/all.txt"
              tar --sort=name --numeric-owner -cf "$KILN_OUT/opt/gen/inputs.tar" src
              printf '%s %s %s\\n' "$SOURCE_DATE_EPOCH" "$TZ" "$LC_ALL" > "$KILN_OUT/opt/gen/env"
              date -d "@$SOURCE_DATE_EPOCH" > "$KILN_OUT/opt/gen/date"
              printf 'made\\n' > "$KILN_OUT/opt/gen/made/file"
              ln -s all.txt "$KILN_OUT/opt/gen/link"
          - name: store
            type: derivation
            store_dir: \(store)
            store_path: \(store)/\(Self.tool)

        """
    }

    /// Writes the plan and its sources into `directory` (in reverse order
    /// when `reversed`), each file with `fileMode` or `executableMode`.
    func checkout(at directory: String, reversed: Bool = false, fileMode: mode_t = 0o644, executableMode: mode_t = 0o755) throws {
        let files = [
            ("plan.yaml", plan, false),
            ("src/a/x.txt", "x\n", false),
            ("src/b.txt", "b\n", false),
            ("src/bin/run", "#!/bin/sh\necho run\n", true),
            ("src/c-d.txt", "c-d\n", false),
            ("rootfs/etc/app/app.conf", "port=80\n", false),
            ("rootfs/etc/app/conf.d/extra.conf", "extra=1\n", false),
            ("rootfs/usr/local/bin/tool", "#!/bin/sh\n", true),
            ("rootfs/not-copied", "no\n", false),
        ]
        try Self.write(files, under: directory, reversed: reversed, modes: (fileMode, executableMode))
        let link = directory + "/src/link"
        try? FileManager.default.removeItem(atPath: link)
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: "b.txt")
        if fileMode & 0o077 == 0 {
            try Tools.run(["find", directory, "-type", "d", "-exec", "chmod", "0700", "{}", "+"])
        }
    }

    /// Writes `(path, text, executable)` files below `root`, in reverse order
    /// when `reversed`, so directory listing order differs between checkouts.
    static func write(_ files: [(String, String, Bool)], under root: String, reversed: Bool,
                      modes: (file: mode_t, executable: mode_t)) throws {
        for (path, text, executable) in reversed ? files.reversed() : files {
            try Files.write(text, to: root + "/" + path, mode: executable ? modes.executable : modes.file)
        }
    }

    /// (Re)creates the store: two store paths the tool's closure holds, one
    /// it does not; read-only, as Nix leaves them.
    func makeStore(reversed: Bool = false) throws {
        if FileManager.default.fileExists(atPath: store) {
            try Tools.run(["chmod", "-R", "u+w", store])
            try FileManager.default.removeItem(atPath: store)
        }
        let files = [
            ("\(Self.tool)/bin/tool", "#!/bin/sh\ncat \(store)/\(Self.data)/share/data.txt\n", true),
            ("\(Self.tool)/share/doc/README", "tool\n", false),
            ("\(Self.data)/share/data.txt", "data\n", false),
            ("\(Self.unrelated)/README", "unrelated\n", false),
        ]
        try Self.write(files, under: store, reversed: reversed, modes: (0o444, 0o555))
        try FileManager.default.createSymbolicLink(atPath: store + "/\(Self.tool)/share/data", withDestinationPath: "\(store)/\(Self.data)/share")
        try Tools.run(["find", store, "-mindepth", "1", "-type", "d", "-exec", "chmod", "0555", "{}", "+"])
    }

    /// Builds the plan in `checkout` into `output` (and `output.tar`) and
    /// returns every file of the layout, and the archive as `archive`.
    func build(_ checkout: String, into output: String, arguments: [String] = [], umask: String? = nil,
               environment: [String: String]? = nil, in directory: String? = nil) throws -> [String: [UInt8]] {
        let command = [KilnBinary.path, "build", checkout + "/plan.yaml", "-o", output, "--tar", output + ".tar"] + arguments
        let argv = umask.map { ["sh", "-c", "umask \($0); exec \"$@\"", "sh"] + command } ?? command
        let result = try Tools.execute(argv, in: directory ?? scratch.path,
                                       environment: environment ?? Build.environment(cache: scratch.path("cache")))
        #expect(result.status == 0, "\(result.stderr)")
        return try Build.files(output).merging(["archive": try Files.bytes(output + ".tar")]) { layout, _ in layout }
    }

    @Test(arguments: Variant.allCases)
    func theSameInputsGiveTheSameBytes(variant: Variant) throws {
        try makeStore()
        try checkout(at: scratch.path("checkout"))
        let reference = try build(scratch.path("checkout"), into: scratch.path("reference"), arguments: ["--jobs", "2"])
        #expect(reference.count == 10, "oci-layout, index.json, manifest.json, a config, a manifest, four layers; the archive")

        let other = scratch.path("other")
        let output = scratch.path("variant")
        let result: [String: [UInt8]]
        switch variant {
        case .anotherPath:
            let copy = try scratch.directory("elsewhere/deeper") + "/copy"
            try Tools.run(["cp", "-a", scratch.path("checkout"), copy])
            result = try build(copy, into: output)
        case .anotherUmask:
            result = try build(scratch.path("checkout"), into: output, umask: "077")
        case .privateCheckout:
            // A checkout made under umask 077: no group or other bits anywhere.
            try checkout(at: other, fileMode: 0o600, executableMode: 0o700)
            result = try build(other, into: output, umask: "077")
        case .touchedMtimes:
            try Tools.run(["find", scratch.path("checkout"), scratch.path("store"), "-exec", "touch", "-h", "-d", "2001-02-03 04:05:06", "{}", "+"])
            result = try build(scratch.path("checkout"), into: output)
        case .reversedCreation:
            try checkout(at: other, reversed: true)
            try makeStore(reversed: true)
            result = try build(other, into: output)
        case .oneJob:
            result = try build(scratch.path("checkout"), into: output, arguments: ["--jobs", "1", "--no-cache"])
        case .anotherEnvironment:
            let tmpdir = try scratch.directory("another-tmp")
            let environment = Build.environment(cache: scratch.path("another-cache"), setting: [
                "TMPDIR": tmpdir, "TZ": "Pacific/Kiritimati", "LC_ALL": "de_DE.UTF-8", "LANG": "fr_FR.UTF-8",
                "HOME": tmpdir, "KILN_UNRELATED": "1", "CFLAGS": "-O0", "SOURCE_DATE_EPOCH_X": "5", "PATH": "/usr/bin:/bin:/usr/sbin",
            ])
            result = try build(scratch.path("checkout"), into: output, environment: environment, in: try scratch.directory("somewhere/else"))
            #expect(try Files.entries(tmpdir) == [])
        }
        // Blob names are digests, yet every file is compared byte for byte.
        #expect(result.keys.sorted() == reference.keys.sorted())
        #expect(reference.keys.sorted().filter { result[$0] != reference[$0] } == [])
    }

    @Test func theBuildLayerSeesNormalizedInputsAndAFixedEnvironment() throws {
        try makeStore()
        try checkout(at: scratch.path("checkout"), fileMode: 0o600, executableMode: 0o700)
        _ = try build(scratch.path("checkout"), into: scratch.path("out"), umask: "077")
        let layout = try BuiltLayout(scratch.path("out"))
        let gen = try LayerProbe(blob: layout.layerBlobs[2])
        // Inputs are copied with 0644/0755 and the plan's created time,
        // whatever the checkout's modes and mtimes; the command runs with
        // umask 022, TZ=UTC, LC_ALL=C and SOURCE_DATE_EPOCH = created.
        let inputs = try scratch.directory("inputs")
        try Files.write(try Tools.output(["sh", "-c", "gzip -dc \"$1\" | tar -xOf - opt/gen/inputs.tar", "sh", layout.layerBlobs[2]]), to: inputs + "/inputs.tar")
        let listing = try Tools.run(["tar", "-tv", "--full-time", "--numeric-owner", "-f", inputs + "/inputs.tar"],
                                    environment: Tools.environment(setting: ["TZ": "UTC"]))
        let fields = lines(listing).map { line -> String in
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            return [parts[0], parts[3], parts[4], parts[5]].joined(separator: " ")
        }
        #expect(fields == [
            "drwxr-xr-x 2024-01-01 00:00:00 src/",
            "drwxr-xr-x 2024-01-01 00:00:00 src/a/",
            "-rw-r--r-- 2024-01-01 00:00:00 src/a/x.txt",
            "-rw-r--r-- 2024-01-01 00:00:00 src/b.txt",
            "drwxr-xr-x 2024-01-01 00:00:00 src/bin/",
            "-rwxr-xr-x 2024-01-01 00:00:00 src/bin/run",
            "-rw-r--r-- 2024-01-01 00:00:00 src/c-d.txt",
            "lrwxrwxrwx 2024-01-01 00:00:00 src/link",
        ])
        let env = try #require(gen.members.first { $0.name == "opt/gen/env" })
        #expect(env.sha256 == String(try Tools.sha256(Array("1704067200 UTC C\n".utf8)).dropFirst(7)))
        #expect(gen.members.map(\.name) == [
            "opt", "opt/gen", "opt/gen/all.txt", "opt/gen/date", "opt/gen/env", "opt/gen/inputs.tar", "opt/gen/link",
            "opt/gen/made", "opt/gen/made/file",
        ])
        #expect(gen.members.allSatisfy { $0.mtime == 1_704_067_200 && $0.uid == 0 && $0.gid == 0 })
        #expect(gen.members.map(\.mode) == [0o755, 0o755, 0o644, 0o644, 0o644, 0o644, 0o777, 0o755, 0o644])
        let store = try LayerProbe(blob: layout.layerBlobs[3])
        let names = store.members.map(\.name)
        #expect(names.contains { $0.hasSuffix(Self.data + "/share/data.txt") })
        #expect(!names.contains { $0.contains(Self.unrelated) })
    }
}
