import Foundation
import KilnCore
import Testing
import TestSupport

/// `kiln diff` of two layouts reads whiteouts as the OCI image spec does:
/// a removed path is listed as removed (type `whiteout`), not as a file
/// named `.wh.…`, and an opaque marker marks its directory.
@Suite struct DiffWhiteoutTests {
    @Test func aLayerThatRemovesAndReplacesListsWhatItRemoves() throws {
        let scratch = try TemporaryDirectory(prefix: "kiln-diff-whiteout")
        defer { scratch.remove() }
        let before = """
            kiln: 1
            name: example.com/diff/app
            created: "2024-01-01T00:00:00Z"
            layers:
              - name: base
                type: files
                files:
                  - { path: /etc/motd, content: "hi\\n" }
                  - { path: /opt/app/old, content: "old\\n" }

            """
        try scratch.write("a.yaml", before)
        try scratch.write("b.yaml", before + """
              - name: trim
                type: files
                files:
                  - { path: /etc/motd, remove: true }
                  - { path: /opt/app, directory: true, replace: true }

            """)
        try Build.layout(["a.yaml", "-o", "A"], in: scratch.path)
        try Build.layout(["b.yaml", "-o", "B"], in: scratch.path)
        let text = try Tools.kiln(["diff", "A", "B"], in: scratch.path)
        #expect(text.status == 1)
        let tail = Array(text.stdoutLines.suffix(5))
        #expect(tail.first?.hasPrefix("  + trim (layer 2): sha256:") == true)
        #expect(Array(tail.dropFirst()) == [
            "      + /etc: directory 0755 0:0",
            "      + /etc/motd: whiteout",
            "      + /opt: directory 0755 0:0",
            "      + /opt/app: directory 0755 0:0 (opaque: hides what lower layers have below it)",
        ])
        #expect(!text.stdout.contains(".wh."))
        let json = try Tools.kiln(["diff", "A", "B", "--format", "json"], in: scratch.path)
        #expect(json.stdout.contains(#""key":"/etc/motd","new":{"type":"whiteout"}"#))
        #expect(json.stdout.contains(#""key":"/opt/app","new":{"mode":"0755","opaque":true,"owner":"0:0","type":"directory"}"#))
    }
}
