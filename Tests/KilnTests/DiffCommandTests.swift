import KilnCore
import Foundation
import Testing
import TestSupport

/// `kiln diff` as a user and a CI job run it: the diff on stdout, errors on
/// stderr, and the exit status 0 (same), 1 (different), 2 (errors).
@Suite(.requires(.kilnBinary))
struct DiffCommandTests {
    let scratch: TemporaryDirectory

    init() throws {
        scratch = try TemporaryDirectory()
        try scratch.write("a.yaml", "kiln: 1\nname: app\nplatform: linux/amd64\nlayers: [{ name: a, type: files, files: [{ path: /x, content: \"1\" }] }]\n")
        try scratch.write("same.yaml", "kiln: 1\nname: app\nplatform: linux/amd64\nlayers:\n  - name: a\n    type: files\n    files: [{ content: \"1\", path: /x }]\n")
        try scratch.write("b.yaml", "kiln: 1\nname: app\nplatform: linux/amd64\ntag: \"2\"\nlayers: [{ name: a, type: files, files: [{ path: /x, content: \"1\" }] }]\n")
        try scratch.write("bad.yaml", "kiln: 1\nname: App\nplatform: linux/amd64\nlayers: [{ name: a, type: files, files: [{ path: /x, content: \"1\" }] }]\n")
        try scratch.directory("layout")
        try scratch.write("layout/oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}")
    }

    func kiln(_ arguments: String...) throws -> ProcessResult {
        try Tools.kiln(arguments, in: scratch.path)
    }

    @Test func equalPlansExitZero() throws {
        let result = try kiln("diff", "a.yaml", "same.yaml")
        #expect(result.status == 0)
        #expect(result.stdout == "--- a.yaml\n+++ same.yaml\nno differences\n")
        #expect(result.stderr.isEmpty)
    }

    @Test func differentPlansExitOneWithPlainTextOffATerminal() throws {
        let result = try kiln("diff", "a.yaml", "b.yaml")
        #expect(result.status == 1)
        #expect(result.stdout == "--- a.yaml\n+++ b.yaml\nimage\n  ~ tag: \"latest\" → \"2\"\ncache\n  kept     a\n")
        #expect(result.stderr.isEmpty)
    }

    @Test func markdownAndJSONFormats() throws {
        let markdown = try kiln("diff", "--format", "markdown", "a.yaml", "b.yaml")
        #expect(markdown.status == 1)
        #expect(markdown.stdout == """
            ### kiln diff `a.yaml` → `b.yaml`

            | image | old | new |
            |---|---|---|
            | `tag` | `"latest"` | `"2"` |

            | # | layer | type | change | cache |
            |---|---|---|---|---|
            | 1 | `a` | files |  | kept |

            """)
        let json = try kiln("diff", "a.yaml", "b.yaml", "--format", "json")
        #expect(json.status == 1)
        let document = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        #expect(document?["kind"] as? String == "plans")
        #expect(document?["equal"] as? Bool == false)
        #expect(json.stdout.hasSuffix("}\n") && !json.stdout.contains(" "))
    }

    @Test func errorsExitTwoOnStderr() throws {
        let mixed = try kiln("diff", "a.yaml", "layout")
        #expect(mixed.status == 2)
        #expect(mixed.stdout.isEmpty)
        #expect(mixed.stderr == "kiln: error: cannot compare a.yaml (a plan) with layout (an image layout): give two plans or two image layouts\n")

        let invalid = try kiln("diff", "a.yaml", "bad.yaml")
        #expect(invalid.status == 2)
        #expect(invalid.stderr == "bad.yaml:2:7: error: image name \"App\" must be lowercase (did you mean \"app\"?)\n")

        let missing = try kiln("diff", "a.yaml", "nothing.yaml")
        #expect(missing.status == 2)
        #expect(missing.stderr == "kiln: error: nothing.yaml does not exist\n")
    }

    @Test(arguments: [
        (["diff", "a.yaml"], "Error: give OLD and NEW (got 1 path), or --git REV PLAN"),
        (["diff", "a.yaml", "b.yaml", "same.yaml"], "Error: give OLD and NEW (got 3 paths), or --git REV PLAN"),
        (["diff", "--git", "HEAD", "a.yaml", "b.yaml"], "Error: --git REV takes exactly one plan (got 2)"),
        (["diff", "--format", "html", "a.yaml", "b.yaml"], "Error: The value 'html' is invalid for '--format <text|markdown|json>': --format must be text, markdown or json (got \"html\")"),
    ])
    func usageErrorsExitTwo(arguments: [String], message: String) throws {
        let result = try Tools.kiln(arguments, in: scratch.path)
        #expect(result.status == 2)
        #expect(result.stderr.split(separator: "\n").first.map(String.init) == message)
    }

    @Test(.requires(.tools("git")))
    func gitAgainstHeadFromInsideTheRepository() throws {
        let git = ["-C", scratch.path, "-c", "user.name=kiln", "-c", "user.email=kiln@example.com"]
        try Tools.run(["git"] + git + ["init", "-q"])
        try Tools.run(["git"] + git + ["add", "a.yaml"])
        try Tools.run(["git"] + git + ["commit", "-q", "-m", "plan"])
        let same = try kiln("diff", "--git", "HEAD", "a.yaml")
        #expect(same.status == 0)
        #expect(same.stdout == "--- a.yaml@HEAD\n+++ a.yaml\nno differences\n")
        try scratch.write("a.yaml", "kiln: 1\nname: app\nplatform: linux/amd64\ntag: \"3\"\nlayers: [{ name: a, type: files, files: [{ path: /x, content: \"1\" }] }]\n")
        let changed = try kiln("diff", "--git", "HEAD", "a.yaml")
        #expect(changed.status == 1)
        #expect(changed.stdout == "--- a.yaml@HEAD\n+++ a.yaml\nimage\n  ~ tag: \"latest\" → \"3\"\ncache\n  kept     a\n")
        let unknown = try kiln("diff", "--git", "v9", "a.yaml")
        #expect(unknown.status == 2)
        #expect(unknown.stderr == "kiln: error: git revision \"v9\" does not name a commit in \(scratch.path)\n")
    }

    @Test func gitMustBeOnThePath() throws {
        let result = try Tools.kiln(["diff", "--git", "HEAD", "a.yaml"], in: scratch.path, environment: Tools.environment(setting: ["PATH": scratch.path + "/no-tools-here"], removing: ["SOURCE_DATE_EPOCH", "NO_COLOR"]))
        #expect(result.status == 2)
        #expect(result.stderr == "kiln: error: --git needs the git command, and it is not on PATH\n")
    }
}
