import Foundation
import Testing
import TestSupport

/// The CI recipe of docs/diff-in-ci.md, run as its jobs run it: a clone
/// of a repository whose target branch is `origin/main`, a pull request's
/// commit checked out, and the diff written as markdown for the comment.
@Suite(.requires(.kilnBinary, .tools("git")))
struct DiffCIRecipeTests {
    let scratch: TemporaryDirectory

    /// The commands both jobs run, as the page writes them (the test checks
    /// the page holds them word for word), with `$BASE` the target branch.
    static let fetch = #"git fetch --no-tags origin "$BASE""#
    static let diff = #"kiln diff --git "origin/$BASE" image/app.yaml --format markdown > kiln-diff.md || [ $? -eq 1 ]"#

    init() throws {
        scratch = try TemporaryDirectory()
    }

    static let plan = """
        kiln: 1
        name: registry.example/ci/web
        layers:
          - name: settings
            type: files
            files: [{ path: /etc/web/app.conf, source: app.conf }]

        """

    @discardableResult
    func git(_ directory: String, _ arguments: String...) throws -> String {
        try Tools.run(["git", "-C", directory, "-c", "user.name=kiln", "-c", "user.email=kiln@example.com"] + arguments)
    }

    /// Runs the recipe's two commands with `sh -e`, as both CI systems run
    /// a script step, `kiln` on PATH.
    func recipe(in clone: String) throws -> ProcessResult {
        let path = URL(fileURLWithPath: KilnBinary.path).deletingLastPathComponent().path + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        let environment = Tools.environment(setting: ["PATH": path, "BASE": "main"], removing: ["SOURCE_DATE_EPOCH", "NO_COLOR"])
        return try Tools.execute(["sh", "-ec", Self.fetch + "\n" + Self.diff], in: clone, environment: environment)
    }

    @Test func thePageHoldsTheCommandsThisTestRuns() throws {
        let page = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("docs/diff-in-ci.md")
        let text = try String(contentsOf: page, encoding: .utf8)
        for (name, branch) in [("GitHub", "$GITHUB_BASE_REF"), ("GitLab", "$CI_MERGE_REQUEST_TARGET_BRANCH_NAME")] {
            for command in [Self.fetch, Self.diff] {
                let spelled = command.replacingOccurrences(of: "$BASE", with: branch)
                #expect(text.contains(spelled), "\(name): \(spelled)")
            }
        }
    }

    @Test func aPullRequestAgainstOriginMain() throws {
        let origin = try scratch.directory("origin.git")
        try git(origin, "init", "-q", "--bare", "-b", "main")
        let author = try scratch.directory("author")
        try git(author, "init", "-q", "-b", "main")
        try scratch.write("author/image/app.yaml", Self.plan)
        try scratch.write("author/image/app.conf", "port=80\n")
        try git(author, "add", "-A")
        try git(author, "commit", "-q", "-m", "image")
        try git(author, "remote", "add", "origin", origin)
        try git(author, "push", "-q", "origin", "main")

        // CI's checkout: a clone on the pull request's branch.
        let clone = scratch.path("clone")
        try Tools.run(["git", "clone", "-q", origin, clone])
        let unchanged = try recipe(in: clone)
        #expect(unchanged.status == 0, "\(unchanged.stderr)")
        #expect(try String(contentsOfFile: clone + "/kiln-diff.md", encoding: .utf8).contains("No differences"))

        try git(clone, "checkout", "-q", "-b", "feature")
        try scratch.write("clone/image/app.conf", "port=8080\n")
        try git(clone, "commit", "-q", "-am", "port 8080")
        let changed = try recipe(in: clone)
        #expect(changed.status == 0, "a diff that finds differences does not fail the job: \(changed.stderr)")
        let markdown = try String(contentsOfFile: clone + "/kiln-diff.md", encoding: .utf8)
        #expect(markdown.hasPrefix("### kiln diff `image/app.yaml@origin/main` → `image/app.yaml`\n"))
        #expect(markdown.contains("-port=80\n+port=8080\n"), "\(markdown)")

        // An error (kiln diff exits 2: a plan that does not load) fails the job.
        try scratch.write("clone/image/app.yaml", Self.plan + "unknown_key: 1\n")
        let broken = try recipe(in: clone)
        #expect(broken.status != 0)
        #expect(broken.stderr.contains("image/app.yaml:7:1: error: unknown key \"unknown_key\""), "\(broken.stderr)")
    }
}
