import Foundation
import Testing
import TestSupport

/// Warnings for silent mistakes (issue 20, SPEC §4): a build layer that
/// writes nothing, `$VAR` in a list-form command, an entrypoint or cmd[0]
/// that is no executable in the image; each `file:line:col: warning: …` on
/// stderr and under `warnings` in `--json`, and errors with `--strict`.
@Suite struct BuildWarningsTests {
    let scratch: TemporaryDirectory

    init() throws {
        scratch = try TemporaryDirectory(prefix: "kiln-warnings")
        try scratch.write("hello.txt", "hello\n")
        try scratch.write("good.yaml", Self.plan(entrypoint: "[\"/usr/local/bin/hello\"]"))
    }

    /// A plan with an executable `/usr/local/bin/hello`, `/etc/motd`
    /// (0644), `/usr/bin/hi -> ../local/bin/hello` and the given lines.
    static func plan(entrypoint: String? = nil, cmd: String? = nil, extraLayers: String = "", base: String? = nil, env: String? = nil) -> String {
        var text = """
            kiln: 1
            name: example.com/warnings/app
            \(base.map { "base: \($0)\n" } ?? "")layers:
              - name: app
                type: files
                files:
                  - { path: /usr/local/bin/hello, content: "#!/bin/sh\\necho hi\\n", mode: "0755" }
                  - { path: /etc/motd, content: "hello\\n" }
                  - { path: /usr/bin/hi, symlink: ../local/bin/hello }
            \(extraLayers)
            """
        if let entrypoint { text += "entrypoint: \(entrypoint)\n" }
        if let cmd { text += "cmd: \(cmd)\n" }
        if let env { text += "env: \(env)\n" }
        return text
    }

    struct Report: Decodable {
        struct Warning: Decodable, Equatable {
            var message: String
            var file: String
            var line: Int
            var column: Int
            var layer: String?
        }
        var warnings: [Warning]
    }

    func build(_ plan: String, _ extra: [String] = []) throws -> ProcessResult {
        try Build.run([plan, "-o", "out"] + extra, in: scratch.path)
    }

    func warnings(_ result: ProcessResult) -> [String] {
        result.stderrLines.filter { $0.contains(": warning: ") }
    }

    @Test func aCleanPlanHasNoWarnings() throws {
        let result = try build("good.yaml", ["--json", "--strict"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(warnings(result).isEmpty)
        let report = try JSONDecoder().decode(Report.self, from: Data(result.stdout.utf8))
        #expect(report.warnings.isEmpty)
    }

    /// A build command that writes nothing to `$KILN_OUT` made a 0-entry
    /// layer and exit 0 without a word.
    @Test func emptyBuildOutput() throws {
        try scratch.write("empty.yaml", Self.plan(entrypoint: "[\"/usr/local/bin/hello\"]", extraLayers: """
              - name: compile
                type: build
                command: echo built > hello.out

            """))
        let result = try build("empty.yaml", ["--json"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(warnings(result) == [
            "empty.yaml:12:14: warning: layer \"compile\": the command wrote nothing to $KILN_OUT, so the layer is empty; "
                + "write the layer's files under \"$KILN_OUT\" (make install DESTDIR=\"$KILN_OUT\", cp app \"$KILN_OUT/usr/local/bin/\")",
        ])
        let report = try JSONDecoder().decode(Report.self, from: Data(result.stdout.utf8))
        #expect(report.warnings.map { [$0.file, "\($0.line)", "\($0.column)", $0.layer ?? ""] } == [["empty.yaml", "12", "14", "compile"]])
        // From the cache the layer is as empty: the warning stays.
        let again = try build("empty.yaml")
        #expect(again.stderr.contains("cached"), "\(again.stderr)")
        #expect(warnings(again).count == 1)
    }

    /// `["cp", "hello.txt", "$KILN_OUT/hello.txt"]`: no shell expands
    /// `$KILN_OUT`, so cp fails; the warning, printed before the layer
    /// runs, says why and what to write.
    @Test func variableInListCommand() throws {
        try scratch.write("argv.yaml", Self.plan(entrypoint: "[\"/usr/local/bin/hello\"]", extraLayers: """
              - name: copy
                type: build
                inputs: [hello.txt]
                command: ["cp", "hello.txt", "${KILN_OUT}/hello.txt"]
              - name: shell
                type: build
                command: ["sh", "-ec", "echo $KILN_OUT > \\"$KILN_OUT/where\\"", "$HOME"]

            """))
        let result = try build("argv.yaml")
        #expect(result.status == 1)
        let expected = "argv.yaml:13:34: warning: layer \"copy\": \"${KILN_OUT}/hello.txt\" holds ${KILN_OUT}, which is not expanded: "
            + "no shell runs a list-form command; write it as a string, which /bin/sh -c runs "
            + "(command: cp hello.txt \"${KILN_OUT}/hello.txt\"), or as [\"sh\", \"-c\", \"…\"]"
        // The script of `sh -c` is expanded by the shell: no warning for it,
        // but `$HOME` after it is an argument like any other.
        #expect(warnings(result).first == expected, "\(result.stderr)")
        #expect(warnings(result).count == 2)
        #expect(warnings(result).last?.hasPrefix("argv.yaml:16:") == true)
        #expect(warnings(result).last?.contains("layer \"shell\": \"$HOME\" holds $HOME") == true)
        // `kiln validate` knows it too; `--strict` makes it an error.
        let validate = try Tools.kiln(["validate", "argv.yaml"], in: scratch.path)
        #expect(validate.status == 0)
        #expect(validate.stderrLines.first == expected)
        let json = try Tools.kiln(["validate", "argv.yaml", "--json"], in: scratch.path)
        #expect(json.stdout.contains(#""ok":true,"warnings":[{"column":34,"file":"argv.yaml","layer":"copy","line":13,"message":"layer \"copy\": \"${KILN_OUT}/hello.txt\" holds"#), "\(json.stdout)")
        let strict = try Tools.kiln(["validate", "--strict", "argv.yaml"], in: scratch.path)
        #expect(strict.status == 1)
        #expect(strict.stderrLines.first?.hasPrefix("argv.yaml:13:34: error: layer \"copy\": \"${KILN_OUT}/hello.txt\" holds") == true, "\(strict.stderr)")
    }

    @Test func shellScriptsAreNotWarnedAbout() throws {
        try scratch.write("sh.yaml", Self.plan(entrypoint: "[\"/usr/local/bin/hello\"]", extraLayers: """
              - name: shell
                type: build
                command: ["/bin/sh", "-c", "mkdir -p \\"$KILN_OUT/srv\\" && echo $HOME > \\"${KILN_OUT}/srv/home\\""]
              - name: string
                type: build
                command: mkdir -p "$KILN_OUT/etc" && echo ok > "$KILN_OUT/etc/ok"

            """))
        let result = try build("sh.yaml", ["--strict"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(warnings(result).isEmpty)
    }

    /// `entrypoint: ["/usr/local/bin/helo"]` (not in the image) built
    /// without a word.
    @Test(arguments: [
        ("[\"/usr/local/bin/helo\"]", nil, "entrypoint \"/usr/local/bin/helo\" is not an executable file in the image: the image has no /usr/local/bin/helo (did you mean \"/usr/local/bin/hello\"?)"),
        ("[\"/etc/motd\"]", nil, "entrypoint \"/etc/motd\" is not an executable file in the image: /etc/motd is a file without execute permission (mode 644)"),
        ("[\"/usr/local/bin\"]", nil, "entrypoint \"/usr/local/bin\" is not an executable file in the image: /usr/local/bin is a directory"),
        ("[\"helo\", \"-v\"]", nil, "entrypoint \"helo\" is not an executable file in the image: no directory of the image's PATH (/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin) holds it (did you mean \"hello\"?)"),
        (nil, "[\"/usr/bin/hello\"]", "cmd[0] \"/usr/bin/hello\" is not an executable file in the image: the image has no /usr/bin/hello"),
    ] as [(String?, String?, String)])
    func programNotInTheImage(entrypoint: String?, cmd: String?, message: String) throws {
        try scratch.write("prog.yaml", Self.plan(entrypoint: entrypoint, cmd: cmd))
        let result = try build("prog.yaml", ["--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let line = 10
        let column = entrypoint != nil ? 14 : 7
        #expect(warnings(result) == ["prog.yaml:\(line):\(column): warning: " + message], "\(result.stderr)")
        let report = try JSONDecoder().decode(Report.self, from: Data(result.stdout.utf8))
        #expect(report.warnings == [Report.Warning(message: message, file: "prog.yaml", line: line, column: column, layer: nil)])
        // Rebuilt: the answer remembered in the cache gives the same warning.
        let again = try build("prog.yaml")
        #expect(warnings(again) == warnings(result))
        #expect(FileManager.default.fileExists(atPath: scratch.path(".cache/kiln/checks")))
    }

    /// Found by PATH, through a symlink, or as cmd[0] after an entrypoint
    /// (an argument then, not a program): nothing to say.
    @Test(arguments: [
        ("[\"hello\"]", nil, nil),
        ("[\"/usr/bin/hi\"]", nil, nil),
        ("[\"hi\"]", nil, "{ PATH: /usr/bin }"),
        ("[\"/usr/local/bin/hello\"]", "[\"/not/a/program\"]", nil),
        (nil, "[\"hello\", \"x\"]", nil),
    ] as [(String?, String?, String?)])
    func programFound(entrypoint: String?, cmd: String?, env: String?) throws {
        try scratch.write("found.yaml", Self.plan(entrypoint: entrypoint, cmd: cmd, env: env))
        let result = try build("found.yaml", ["--strict"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(warnings(result).isEmpty)
    }

    /// The image's file system is the base's layers and the plan's, with
    /// whiteouts: a program the base has counts; one a layer removed does not.
    @Test func baseLayersAndWhiteouts() throws {
        try Build.layout(["good.yaml", "-o", "base"], in: scratch.path)
        try scratch.write("onbase.yaml", """
            kiln: 1
            name: example.com/warnings/derived
            base: oci:base
            layers:
              - name: more
                type: files
                files: [{ path: /etc/more, content: "x\\n" }]
            entrypoint: ["hello"]

            """)
        let found = try build("onbase.yaml", ["--strict"])
        #expect(found.status == 0, "\(found.stderr)")
        try scratch.write("removed.yaml", """
            kiln: 1
            name: example.com/warnings/derived
            base: oci:base
            layers:
              - name: slim
                type: files
                files: [{ path: /usr/local/bin/hello, remove: true }]
            entrypoint: ["/usr/bin/hi"]

            """)
        let removed = try build("removed.yaml")
        #expect(removed.status == 0, "\(removed.stderr)")
        #expect(warnings(removed) == ["removed.yaml:8:14: warning: entrypoint \"/usr/bin/hi\" is not an executable file in the image: /usr/bin/hi is a dangling symlink (to ../local/bin/hello)"])
    }

    /// `--strict`: a warning fails the build (exit 1) and the previous
    /// output stays as it was.
    @Test func strictKeepsThePreviousOutput() throws {
        let before = try Build.files(try Build.layout(["good.yaml", "-o", "out"], in: scratch.path).path)
        try scratch.write("typo.yaml", Self.plan(entrypoint: "[\"/usr/local/bin/helo\"]"))
        let result = try build("typo.yaml", ["--strict", "--json"])
        #expect(result.status == 1)
        #expect(result.stderrLines.contains { $0.hasPrefix("typo.yaml:10:14: error: entrypoint \"/usr/local/bin/helo\" is not an executable file in the image") }, "\(result.stderr)")
        #expect(warnings(result).isEmpty)
        #expect(result.stdout.contains("\"line\":10"), "\(result.stdout)")
        #expect(try Build.files(scratch.path("out")) == before)
    }
}
