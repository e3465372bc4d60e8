import KilnCore
import Foundation
import Testing
import TestSupport

/// SPEC §2 on the layer blobs the real binary writes, read by GNU tar,
/// Python's tarfile and a raw walk over the 512-byte headers: order,
/// parents, owners, mtimes, PAX only where ustar cannot hold a value,
/// hardlinks, the gzip header, and canonical JSON.
@Suite(.requires(.tools("tar", "python3", "sha256sum")))
struct BuildLayerFormatTests {
    let scratch: TemporaryDirectory

    static let longName = String(repeating: "n", count: 120)
    /// 60 + 1 + 60 + 1 + 20 bytes below `split/`: over 100, but ustar's
    /// prefix field holds everything before the last slash.
    static let splittable = [String(repeating: "d", count: 60), String(repeating: "e", count: 60), String(repeating: "f", count: 20)]
        .joined(separator: "/")
    static let longTarget = "/" + String(repeating: "t", count: 150)

    init() throws {
        scratch = try TemporaryDirectory(prefix: "kiln-e2e-format")
        // Created in reverse byte order, with hardlinks: h, sub/one and zz
        // are one file.
        try scratch.write("plan/src/zz", "same\n")
        try scratch.hardlink("plan/src/h", to: "plan/src/zz")
        try scratch.directory("plan/src/sub")
        try scratch.hardlink("plan/src/sub/one", to: "plan/src/zz")
        try scratch.write("plan/src/a-b", "ab\n")
        try scratch.write("plan/src/a/x", "x\n")
        try scratch.write("plan/plan.yaml", """
            kiln: 1
            name: example.com/e2e/format
            created: "2024-01-01T00:00:00Z"
            layers:
              - name: tree
                type: files
                files:
                  - { path: /src, source: src }
                  - { path: /long/\(Self.longName), content: "long\\n" }
                  - { path: /split/\(Self.splittable), content: "split\\n" }
                  - { path: /link, symlink: \(Self.longTarget) }
                  - { path: /big-owner, content: "big\\n", owner: "2097152:7" }
                  - { path: /var/lib/app, directory: true, owner: "65532:65532", mode: "0750" }
            labels: { org.opencontainers.image.url: "https://example.com/a/b", org.example.note: "é <&> ü" }

            """)
    }

    /// GNU tar's verbose listing with runs of spaces collapsed.
    static func gnuListing(_ blob: String) throws -> [String] {
        let output = try Tools.run(["tar", "-tv", "--full-time", "--numeric-owner", "-f", blob],
                                   environment: Tools.environment(setting: ["TZ": "UTC", "LC_ALL": "C"]))
        return lines(output).map { $0.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ") }
    }

    @Test func entriesAreSortedWithParentsOwnersAndOneMtimeAsGNUTarListsThem() throws {
        let layout = try Build.layout(["plan/plan.yaml", "-o", "out"], in: scratch.path)
        let when = "2024-01-01 00:00:00"
        let d = "drwxr-xr-x 0/0 0 \(when)"
        let split = Self.splittable.split(separator: "/").map(String.init)
        // Byte order of the full path: "a" < "a-b" < "a/x" ("-" < "/"); the
        // first of the three hardlinked names in that order holds the
        // content, the later ones link to it.
        #expect(try Self.gnuListing(layout.layerBlobs[0]) == [
            "-rw-r--r-- 2097152/7 4 \(when) big-owner",
            "lrwxrwxrwx 0/0 0 \(when) link -> \(Self.longTarget)",
            "\(d) long",
            "-rw-r--r-- 0/0 5 \(when) long/\(Self.longName)",
            "\(d) split",
            "\(d) split/\(split[0])",
            "\(d) split/\(split[0])/\(split[1])",
            "-rw-r--r-- 0/0 6 \(when) split/\(Self.splittable)",
            "\(d) src",
            "\(d) src/a",
            "-rw-r--r-- 0/0 3 \(when) src/a-b",
            "-rw-r--r-- 0/0 2 \(when) src/a/x",
            "-rw-r--r-- 0/0 5 \(when) src/h",
            "\(d) src/sub",
            "hrw-r--r-- 0/0 0 \(when) src/sub/one link to src/h",
            "hrw-r--r-- 0/0 0 \(when) src/zz link to src/h",
            "\(d) var",
            "\(d) var/lib",
            "drwxr-x--- 65532/65532 0 \(when) var/lib/app",
        ])
    }

    @Test func headersAreUstarWithPAXOnlyWhereUstarCannotHoldTheValue() throws {
        let layout = try Build.layout(["plan/plan.yaml", "-o", "out"], in: scratch.path)
        let probe = try LayerProbe(blob: layout.layerBlobs[0])
        let created = 1_704_067_200
        // Every header, PAX ones included: ustar magic, empty user and
        // group names, the one mtime.
        for header in probe.headers {
            #expect(header.magic == "7573746172003030", "\(header.name)")
            #expect(header.uname == "" && header.gname == "", "\(header.name)")
            #expect(header.mtime == created, "\(header.name)")
        }
        // PAX headers exactly before the three members ustar cannot hold:
        // a name component over 100 bytes, a link target over 100 bytes, a
        // uid over 0o7777777. The splittable long path uses the prefix field.
        let pax = probe.headers.enumerated().filter { $0.element.type == "x" }.map { probe.headers[$0.offset + 1].name }
        #expect(pax == ["big-owner", "link", String(("long/" + Self.longName).prefix(100))])
        #expect(probe.members.filter { !$0.pax.isEmpty }.map { "\($0.name) \($0.pax)" } == [
            "big-owner [\"uid\"]", "link [\"linkpath\"]", "long/\(Self.longName) [\"path\"]",
        ])
        let splitHeader = try #require(probe.headers.first { $0.name.hasSuffix("/" + String(repeating: "f", count: 20)) })
        #expect(splitHeader.prefix + "/" + splitHeader.name == "split/" + Self.splittable)
        #expect(splitHeader.prefix.utf8.count <= 155 && splitHeader.name.utf8.count <= 100)
        // Each path once; every parent before its children, as a directory.
        let names = probe.members.map(\.name)
        #expect(Set(names).count == names.count)
        for (position, name) in names.enumerated() {
            var parent = (name as NSString).deletingLastPathComponent
            while !parent.isEmpty {
                let index = try #require(names.firstIndex(of: parent), "\(name) has no parent entry \(parent)")
                #expect(index < position)
                #expect(probe.members[index].type == "5")
                parent = (parent as NSString).deletingLastPathComponent
            }
        }
        // Sorted by the bytes of the full path.
        #expect(names == names.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) })
        // Implicit parents are 0755 0:0; the hardlink targets come earlier.
        for member in probe.members where ["long", "split", "src", "var", "var/lib"].contains(member.name) {
            #expect(member.mode == 0o755 && member.uid == 0 && member.gid == 0, "\(member.name)")
        }
        let hardlinks = probe.members.filter { $0.type == "1" }
        #expect(hardlinks.map { "\($0.name) -> \($0.linkname)" } == ["src/sub/one -> src/h", "src/zz -> src/h"])
        for link in hardlinks {
            #expect(try #require(names.firstIndex(of: link.linkname)) < (try #require(names.firstIndex(of: link.name))))
        }
        #expect(probe.members.first { $0.name == "src/h" }?.sha256 == String(try Tools.sha256(Array("same\n".utf8)).dropFirst(7)))
        // The archive ends with the two zero blocks and nothing else.
        #expect(probe.trailer == 1024)
    }

    @Test func gzipHeaderHasNoNameNoMtimeAndOSUnknown() throws {
        let layout = try Build.layout(["plan/plan.yaml", "-o", "out"], in: scratch.path)
        for blob in layout.layerBlobs {
            // ID1 ID2, CM 8 (deflate), FLG 0 (no name, no comment, no extra),
            // MTIME 0, XFL 0 (zlib writes 2 only for level 9, 4 only for
            // levels 0-1; level 6 gets 0), OS 255 (unknown).
            #expect(try LayerProbe(blob: blob).head == "1f8b08000000000000ff")
        }
        #expect(layout.manifest.layers.map(\.mediaType) == ["application/vnd.oci.image.layer.v1.tar+gzip"])
    }

    @Test func jsonDocumentsAreCanonical() throws {
        let layout = try Build.layout(["plan/plan.yaml", "-o", "out"], in: scratch.path)
        let documents = ["index.json", "manifest.json", "oci-layout"].map { layout.path + "/" + $0 }
            + [layout.blob(layout.index.manifests[0].digest), layout.blob(layout.manifest.config.digest)]
        for document in documents {
            #expect(try CanonicalJSON.isCanonical(try Files.bytes(document)), "\(document)")
        }
        let config = String(decoding: layout.configBytes, as: UTF8.self)
        // "/" and non-ASCII text are written as they are, never escaped.
        #expect(config.contains(#""org.opencontainers.image.url":"https://example.com/a/b""#))
        #expect(config.contains(#""org.example.note":"é <&> ü""#))
        #expect(try Files.text(layout.path + "/oci-layout") == #"{"imageLayoutVersion":"1.0.0"}"#)
    }

    @Test(arguments: [
        // (created in the plan, SOURCE_DATE_EPOCH, the timestamp everything gets)
        (Optional("2030-01-01T00:00:00Z"), Optional("1700000000"), 1_700_000_000),
        ("2020-01-01T00:00:00Z", "1700000000", 1_577_836_800),
        (nil, "1700000000", 1_700_000_000),
        (nil, nil, 0),
    ])
    func sourceDateEpochClampsCreated(created: String?, epoch: String?, expected: Int) throws {
        let name = "clamp-" + UUID().uuidString.prefix(8)
        try scratch.write("\(name)/plan.yaml", """
            kiln: 1
            name: example.com/e2e/clamp
            \(created.map { "created: \"\($0)\"" } ?? "")
            layers:
              - name: one
                type: files
                files:
                  - { path: /etc/motd, content: "hi\\n" }

            """)
        let environment = Build.environment(cache: scratch.path("cache"), setting: epoch.map { ["SOURCE_DATE_EPOCH": $0] } ?? [:])
        let layout = try Build.layout(["\(name)/plan.yaml", "-o", name + "-out"], in: scratch.path, environment: environment)
        let probe = try LayerProbe(blob: layout.layerBlobs[0])
        #expect(probe.members.map(\.mtime) == [expected, expected])
        let stamp = try Tools.run(["date", "-u", "-d", "@\(expected)", "+%Y-%m-%dT%H:%M:%SZ"]).trimmingCharacters(in: .newlines)
        #expect(layout.config.created == stamp)
        #expect(layout.config.history?.map(\.created) == [stamp])
    }

    @Test(.requires(.tools("zstd")), arguments: [
        ("zstd", "application/vnd.oci.image.layer.v1.tar+zstd", "28b52ffd"),
        ("none", "application/vnd.oci.image.layer.v1.tar", "6d6f7464"),
    ])
    func otherCompressions(compression: String, mediaType: String, magic: String) throws {
        let name = "compression-" + compression
        try scratch.write("\(name)/plan.yaml", """
            kiln: 1
            name: example.com/e2e/\(compression)
            compression: \(compression)
            layers:
              - name: one
                type: files
                files:
                  - { path: /motd, content: "hi\\n" }

            """)
        let layout = try Build.layout(["\(name)/plan.yaml", "-o", name + "-out"], in: scratch.path)
        #expect(layout.manifest.layers.map(\.mediaType) == [mediaType])
        let probe = try LayerProbe(blob: layout.layerBlobs[0], compression: compression)
        // zstd's frame magic, or the tar itself (whose first name is "motd").
        #expect(probe.head.hasPrefix(magic))
        #expect(layout.config.rootfs.diff_ids == [probe.diffID])
        #expect(probe.members.map(\.name) == ["motd"])
        if compression == "none" { #expect(probe.digest == probe.diffID) }
        #expect(try Self.gnuListing(layout.layerBlobs[0]) == ["-rw-r--r-- 0/0 3 1970-01-01 00:00:00 motd"])
    }
}
