import KilnCore
import Foundation
import Testing
import TestSupport
@testable import Debian

@Suite struct SystemSourcesTests {
    /// A fake apt root with every form apt reads.
    func aptRoot() throws -> TemporaryDirectory {
        let directory = try TemporaryDirectory(prefix: "kiln-apt")
        let root = directory.path
        try Files.write("""
        # the classic file
        deb http://mirror.invalid/debian bookworm main contrib # trailing comment
        deb-src http://mirror.invalid/debian bookworm main
        deb [arch=amd64,arm64 signed-by=/keys/one.gpg] http://one.invalid/repo stable main

        """, to: root + "/etc/apt/sources.list")
        try Files.write("deb [trusted=yes] file:/srv/flat ./\n", to: root + "/etc/apt/sources.list.d/b-flat.list")
        try Files.write("""
        Types: deb deb-src
        URIs: http://a.invalid/debian http://b.invalid/debian
        Suites: bookworm bookworm-updates
        Components: main
        Signed-By: /keys/two.gpg

        # disabled
        Enabled: no
        Types: deb
        URIs: http://off.invalid/
        Suites: x
        Components: main

        Types: deb-src
        URIs: http://src.invalid/
        Suites: x
        Components: main

        Types: deb
        URIs: http://inline.invalid/
        Suites: y
        Components: main
        Architectures: arm64
        Signed-By:
         -----BEGIN PGP PUBLIC KEY BLOCK-----
         .
         mDMEZQ==
         =abcd
         -----END PGP PUBLIC KEY BLOCK-----

        """, to: root + "/etc/apt/sources.list.d/a-main.sources")
        try Files.write("ignored", to: root + "/etc/apt/sources.list.d/c.list.disabled")
        try Files.write("key", to: root + "/etc/apt/trusted.gpg.d/debian.gpg")
        return directory
    }

    @Test func readsEveryFormInAptOrder() throws {
        let directory = try aptRoot()
        defer { directory.remove() }
        let root = directory.path
        let sources = try SystemSources(root: root).sources()
        #expect(sources.map(\.label) == [
            "http://mirror.invalid/debian bookworm",
            "http://one.invalid/repo stable",
            "http://a.invalid/debian bookworm",
            "http://a.invalid/debian bookworm-updates",
            "http://b.invalid/debian bookworm",
            "http://b.invalid/debian bookworm-updates",
            "http://inline.invalid y",
            "file:/srv/flat ./",
        ])
        #expect(sources[0].components == ["main", "contrib"])
        #expect(sources[0].keyring == .files([root + "/etc/apt/trusted.gpg.d/debian.gpg"]))
        #expect(sources[0].origin == root + "/etc/apt/sources.list:2")
        #expect(sources[1].architectures == ["amd64", "arm64"])
        #expect(sources[1].keyring == .files([root + "/keys/one.gpg"]))
        #expect(sources[2].keyring == .files([root + "/keys/two.gpg"]))
        #expect(sources[6].architectures == ["arm64"])
        #expect(sources[6].keyring == .armored("-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmDMEZQ==\n=abcd\n-----END PGP PUBLIC KEY BLOCK-----\n"))
        #expect(sources[7].allowUnsigned)
        #expect(sources[7].isFlat)
        #expect(sources[7].releaseDirectory == "file:/srv/flat")
        #expect(sources[2].releaseDirectory == "http://a.invalid/debian/dists/bookworm")
    }

    @Test(arguments: [
        ("list", "deb http://x.invalid/\n", ":1: expected \"deb URI SUITE [COMPONENT…]\""),
        ("list", "rpm http://x.invalid/ a b\n", ":1: unknown source type \"rpm\" (expected deb or deb-src)"),
        ("list", "deb [arch=amd64 http://x.invalid/ a b\n", ":1: unclosed \"[\" in the options"),
        ("list", "deb http://x.invalid/ flat/ main\n", ":1: a suite ending in \"/\" takes no components, any other suite needs at least one"),
        ("list", "deb [signed-by=ABCDEF0123] http://x.invalid/ a main\n", ":1: Signed-By \"ABCDEF0123\" is not a keyring path; kiln reads keyring files or an inline key block, not fingerprints"),
        ("sources", "Types: deb\nSuites: a\nComponents: main\n", ":1: missing \"URIs\""),
        ("sources", "URIs: http://x.invalid/\nSuites: a\n", ":1: missing \"Types\""),
        ("sources", "Types: deb\nURIs: http://x.invalid/\nComponents: main\n", ":1: missing \"Suites\""),
        ("sources", "Types: deb\nURIs: http://x.invalid/\nSuites: a\n", ":1: suite \"a\": a suite ending in \"/\" takes no components, any other suite needs at least one"),
        ("sources", "Types: deb\n bad\nX Y: 1\n", ":3: invalid field name \"X Y\""),
    ])
    func errors(kind: String, text: String, suffix: String) throws {
        let temporaryDirectory = try TemporaryDirectory(prefix: "kiln-apt")
        defer { temporaryDirectory.remove() }
        let root = temporaryDirectory.path
        let file = root + "/etc/apt/sources.list.d/bad." + kind
        try Files.write(text, to: file)
        #expect { try SystemSources(root: root).sources() } throws: { ($0 as? SourcesError)?.description == file + suffix }
    }

    @Test func noTrustedKeyringMeansNone() throws {
        let temporaryDirectory = try TemporaryDirectory(prefix: "kiln-apt")
        defer { temporaryDirectory.remove() }
        let root = temporaryDirectory.path
        try Files.write("deb http://x.invalid/ a main\n", to: root + "/etc/apt/sources.list")
        #expect(try SystemSources(root: root).sources().first?.keyring == Keyring.none)
    }
}
