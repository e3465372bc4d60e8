import Foundation
import Testing
import TestSupport

/// `remove` and `replace` entries (SPEC §1.4) checked against the layers
/// below them at build time: a path no lower layer has, and an entry below
/// a lower layer's symlink, are errors at the entry's line; nothing is
/// written.
@Suite(.requires(.tools("python3")))
struct BuildRemoveTests {
    static let base: [[HandLayout.Member]] = [
        [.dir("usr"), .dir("usr/bin"), .file("usr/bin/sh", "sh"), .symlink("bin", to: "usr/bin"), .dir("etc"), .file("etc/motd", "hi")],
    ]

    func build(_ layers: String) throws -> (ProcessResult, TemporaryDirectory) {
        let scratch = try TemporaryDirectory(prefix: "kiln-remove")
        try HandLayout.write(Self.base, to: scratch.path("base"))
        try scratch.write("plan.yaml", """
            kiln: 1
            name: example.com/remove/app
            base: oci:base
            layers:
            \(layers)
            """)
        return (try Build.run(["plan.yaml", "-o", "out"], in: scratch.path), scratch)
    }

    /// Builds `layers`, which must fail with `message` as the last line and
    /// write nothing.
    func expectFailure(_ layers: String, _ message: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let (result, scratch) = try build(layers)
        defer { scratch.remove() }
        #expect(result.status == 1, sourceLocation: sourceLocation)
        #expect(result.stderrLines.last == message, sourceLocation: sourceLocation)
        #expect(!FileManager.default.fileExists(atPath: scratch.path("out")), sourceLocation: sourceLocation)
    }

    @Test func removingAPathNoLowerLayerHasIsAnErrorAtItsLine() throws {
        try expectFailure("""
              - name: first
                type: files
                files:
                  - { path: /opt/app, content: "x" }
              - name: trim
                type: files
                files:
                  - { path: /opt/app, remove: true }
                  - { path: /etc/motd, remove: true }
                  - { path: /etc/mtod, remove: true }

            """, "plan.yaml:14:9: error: layer \"trim\": cannot remove /etc/mtod: neither the base nor an earlier layer has it")
    }

    @Test func anEntryBelowALowerSymlinkNamesThePathToWrite() throws {
        try expectFailure("""
              - name: tools
                type: files
                files:
                  - { path: /bin/tool, content: "t" }

            """, "plan.yaml:8:9: error: layer \"tools\": /bin/tool is below /bin, which a lower layer has as a symlink to usr/bin; "
                + "write /usr/bin/tool (or replace /bin with directory: true, replace: true)")
    }

    /// The check reads the built layers only when the base alone does not
    /// settle it: a symlink an earlier built layer adds is seen...
    @Test func anEntryBelowASymlinkAnEarlierLayerAddedIsAnError() throws {
        try expectFailure("""
              - name: links
                type: files
                files:
                  - { path: /opt/tools, symlink: /usr/bin }
              - name: tools
                type: files
                files:
                  - { path: /opt/tools/tool, content: "t" }

            """, "plan.yaml:12:9: error: layer \"tools\": /opt/tools/tool is below /opt/tools, which a lower layer has as a symlink to /usr/bin; "
                + "write /usr/bin/tool (or replace /opt/tools with directory: true, replace: true)")
    }

    /// ...and so is a base symlink an earlier layer replaced.
    @Test func anEntryBelowABaseSymlinkAnEarlierLayerReplacedBuilds() throws {
        let (result, scratch) = try build("""
              - name: first
                type: files
                files:
                  - { path: /bin, directory: true, replace: true }
              - name: second
                type: files
                files:
                  - { path: /bin/tool, content: "t" }

            """)
        defer { scratch.remove() }
        #expect(result.status == 0, "\(result.stderr)")
    }

    @Test func replacingTheSymlinkItselfAndRemovingWhatEarlierLayersAddedBuild() throws {
        let (result, scratch) = try build("""
              - name: first
                type: files
                files:
                  - { path: /opt/app/old, content: "x" }
              - name: second
                type: files
                files:
                  - { path: /bin, directory: true, replace: true }
                  - { path: /bin/tool, content: "t" }
                  - { path: /opt/app/old, remove: true }
                  - { path: /usr/bin/other, content: "o" }

            """)
        defer { scratch.remove() }
        #expect(result.status == 0, "\(result.stderr)")
    }
}
