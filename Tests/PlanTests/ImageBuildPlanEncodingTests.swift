import Foundation
import KilnCore
import Plan
import Testing
import TestSupport

/// The normalized plan as JSON (what `kiln plan` will print): every default
/// filled, no source locations, host paths absolute, and input digests
/// when the caller supplies them.
@Suite struct ImageBuildPlanEncodingTests {
    let directory: TemporaryDirectory

    init() throws {
        directory = try TemporaryDirectory()
        try directory.write("config/app.conf", "x\n")
        try directory.write("src/main.c", "int main;\n")
        try directory.directory("debs")
    }

    static func encode(_ plan: ImageBuildPlan, digests: [String: String]? = nil) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        if let digests { encoder.userInfo[ImageBuildPlan.inputDigestsKey] = digests }
        return String(decoding: try encoder.encode(plan), as: UTF8.self)
    }

    let plan = """
        kiln: 1
        name: example.com/app
        tag: 1.10
        layers:
          - name: files
            type: files
            files:
              - { path: /etc/app.conf, source: config/app.conf, owner: "1:2" }
              - { path: /etc/motd, content: "hi\\n" }
              - { path: /bin/sh, symlink: busybox }
              - { path: /data, directory: true, mode: 1777 }
          - name: pkgs
            type: packages
            names: [curl]
            sources: [system, { dir: debs }, { uri: "https://deb.example.com/debian", suite: bookworm, components: [main] }]
          - name: build
            type: build
            command: make
            inputs: [src]
            timeout: 60
          - name: store
            type: derivation
            store_path: /nix/store/0c4wpbvxxqkvbq0x3v6rhwsh3b6j2n8j-hello-2.12
        entrypoint: [/bin/app]
        expose: [8080]
        """

    @Test func everyDefaultIsWrittenAndNoLocation() throws {
        let decoded = try testLoader().decode(Array(plan.utf8), file: "plan.yaml", directory: directory.path)
        let d = directory.path
        let expected = #"{"annotations":{},"base":{"type":"scratch"},"compression":"gzip","context":"\#(d)","created":"1970-01-01T00:00:00Z","#
            + #""directory":"\#(d)","entrypoint":["/bin/app"],"env":{},"expose":["8080/tcp"],"kiln":1,"labels":{},"layers":["#
            + #"{"files":["#
            + #"{"owner":"1:2","path":"/etc/app.conf","source":"\#(d)/config/app.conf"},"#
            + #"{"content":"hi\n","mode":"0644","owner":"0:0","path":"/etc/motd"},"#
            + #"{"owner":"0:0","path":"/bin/sh","symlink":"busybox"},"#
            + #"{"directory":true,"mode":"1777","owner":"0:0","path":"/data"}"#
            + #"],"name":"files","type":"files"},"#
            + #"{"exclude":[],"name":"pkgs","names":["curl"],"resolve":"transitive","sources":["system",{"dir":"\#(d)/debs"},"#
            + #"{"allow_unsigned":false,"components":["main"],"suite":"bookworm","uri":"https://deb.example.com/debian"}],"type":"packages"},"#
            + #"{"command":"make","env":{},"inputs":[{"path":"src","source":"\#(d)/src"}],"name":"build","sandbox":"none","timeout":60,"type":"build"},"#
            + #"{"closure":true,"name":"store","store_dir":"/nix/store","store_path":"/nix/store/0c4wpbvxxqkvbq0x3v6rhwsh3b6j2n8j-hello-2.12","type":"derivation"}"#
            + #"],"name":"example.com/app","platform":"linux/amd64","tag":"1.10","volumes":[]}"#
        #expect(try Self.encode(decoded) == expected)
    }

    @Test func inputDigestsAreWrittenBesideTheirPaths() throws {
        let decoded = try testLoader().decode(Array(plan.utf8), file: "plan.yaml", directory: directory.path)
        let d = directory.path
        let json = try Self.encode(decoded, digests: [
            "\(d)/config/app.conf": "sha256:aa", "\(d)/debs": "sha256:bb", "\(d)/src": "sha256:cc",
        ])
        #expect(json.contains(#"{"owner":"1:2","path":"/etc/app.conf","source":"\#(d)/config/app.conf","source_digest":"sha256:aa"}"#))
        #expect(json.contains(#"{"dir":"\#(d)/debs","dir_digest":"sha256:bb"}"#))
        #expect(json.contains(#"{"digest":"sha256:cc","path":"src","source":"\#(d)/src"}"#))
    }

    @Test func formattingNeverChangesTheOutput() throws {
        let reformatted = "# same plan, other spelling\n" + plan
            .replacingOccurrences(of: "tag: 1.10", with: "tag: '1.10'")
            .replacingOccurrences(of: "mode: 1777", with: "mode: \"01777\"")
            .replacingOccurrences(of: "expose: [8080]", with: "expose:\n  - \"8080/tcp\"")
        let a = try testLoader().decode(Array(plan.utf8), file: "plan.yaml", directory: directory.path)
        let b = try testLoader().decode(Array(reformatted.utf8), file: "plan.yaml", directory: directory.path)
        #expect(a == b)
        #expect(try Self.encode(a) == Self.encode(b))
    }

    @Test func baseImagesAreEncodedByKind() throws {
        try directory.write("layout/oci-layout", "{}\n")
        let layer = "layers:\n  - { name: c, type: files, files: [{ path: /a, content: x }] }\n"
        let layout = try testLoader().decode(Array("kiln: 1\nname: app\nbase: oci:layout:v1\n\(layer)".utf8), file: "plan.yaml", directory: directory.path)
        #expect(layout.base == .ociLayout(path: directory.path + "/layout", ref: "v1"))
        #expect(try Self.encode(layout).contains(#""base":{"path":"\#(directory.path)/layout","ref":"v1","type":"oci"}"#))
        let archive = try testLoader().decode(Array("kiln: 1\nname: app\nbase: oci-archive:layout/oci-layout\n".utf8), file: "plan.yaml", directory: directory.path)
        #expect(archive.base == .ociArchive(path: directory.path + "/layout/oci-layout", ref: nil))
        #expect(try Self.encode(archive).contains(#""base":{"path":"\#(directory.path)/layout/oci-layout","type":"oci-archive"}"#))
    }
}
