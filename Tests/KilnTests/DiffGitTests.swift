import Foundation
import Kiln
import KilnCore
import Plan
import Testing
import TestSupport

/// `kiln diff --git REV PLAN`: the plan and its inputs as committed at REV
/// against the working copy, in a repository made for each test.
@Suite(.requires(.tools("git", "sha256sum")))
struct DiffGitTests {
    let scratch: TemporaryDirectory
    let repository: String
    let plan: String

    static let planText = """
        kiln: 1
        name: app
        tag: "1"
        layers:
          - name: cfg
            type: files
            files:
              - { path: /etc/app.conf, source: conf/app.conf }
          - name: app
            type: build
            command: make
            inputs: [src]

        """

    init() throws {
        scratch = try TemporaryDirectory()
        repository = try scratch.directory("repo")
        plan = repository + "/image/app.yaml"
        try scratch.write("repo/image/app.yaml", Self.planText)
        try scratch.write("repo/image/conf/app.conf", "port=80\n")
        try scratch.write("repo/image/src/main.c", "int main(void) { return 0; }\n")
        try scratch.write("repo/README", "not part of the image\n")
        try git("init", "-q")
        try commit("first")
    }

    @discardableResult
    func git(_ arguments: String...) throws -> String {
        try Tools.run(["git", "-C", repository, "-c", "user.name=kiln", "-c", "user.email=kiln@example.com"] + arguments)
    }

    func commit(_ message: String) throws {
        try git("add", "-A")
        try git("commit", "-q", "-m", message)
    }

    @Test func aChangedInputAndPlanAgainstHead() throws {
        try scratch.write("repo/image/conf/app.conf", "port=8080\n")
        try scratch.write("repo/image/app.yaml", Self.planText.replacingOccurrences(of: "tag: \"1\"", with: "tag: \"2\""))
        let before = DiffFixtures.short(try Tools.sha256(Array("port=80\n".utf8)))
        let after = DiffFixtures.short(try Tools.sha256(Array("port=8080\n".utf8)))
        // The old side was read from a temporary checkout, but its paths are
        // reported (and its cache keys taken) as the working copy's: `app`,
        // whose input did not change, keeps its cached layer.
        #expect(try DiffFixtures.differ.compare(plan: plan, atRevision: "HEAD").render(.text) == """
            --- \(plan)@HEAD
            +++ \(plan)
            image
              ~ tag: "1" → "2"
            layers
              ~ cfg (files, layer 1)
                  ~ files /etc/app.conf
                      ~ source_digest: "\(before)" → "\(after)"
                      @@ -1 +1 @@
                      -port=80
                      +port=8080
            cache
              rebuilt  cfg  (inputs)
              kept     app
            Only the layers built again get new digests: an OCI layer's digest covers its own content alone, so the layers above a rebuilt one keep theirs.

            """)
    }

    @Test func anOlderRevisionAndABuildInput() throws {
        try scratch.write("repo/image/src/main.c", "int main(void) { return 1; }\n")
        try commit("second")
        let result = try DiffFixtures.differ.compare(plan: plan, atRevision: "HEAD~1")
        guard case .plans(let diff) = result else { Issue.record("expected a plan diff"); return }
        let change = try #require(diff.layers.first)
        #expect(change.name == "app")
        #expect(change.items.map(\.key) == ["src"])
        #expect(diff.cache.map(\.outcome) == [.kept, .rebuilt])
        #expect(diff.cache.last?.reasons == ["inputs"])
    }

    @Test func anUnchangedWorkingCopyIsEqualAndTheRepositoryIsLeftAlone() throws {
        let index = try Tools.sha256(file: repository + "/.git/index")
        let status = try git("status", "--porcelain", "--untracked-files=all")
        let worktrees = try git("worktree", "list")
        let result = try DiffFixtures.differ.compare(plan: plan, atRevision: "HEAD")
        #expect(result.isEqual)
        guard case .plans(let diff) = result else { Issue.record("expected a plan diff"); return }
        #expect(diff.cache.map(\.outcome) == [.kept, .kept])
        #expect(diff.cache.allSatisfy { $0.oldKey == $0.newKey })
        #expect(try Tools.sha256(file: repository + "/.git/index") == index)
        #expect(try git("status", "--porcelain", "--untracked-files=all") == status)
        #expect(try git("worktree", "list") == worktrees)
    }

    @Test func aBaseThatIsNotCommittedIsTakenFromTheWorkingCopy() throws {
        try scratch.write("repo/.gitignore", "image/base/\n")
        try scratch.write("repo/image/app.yaml", Self.planText + "base: oci:base\n")
        try commit("on a base")
        try scratch.write("repo/image/base/oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}")
        #expect(try DiffFixtures.differ.compare(plan: plan, atRevision: "HEAD").isEqual)
    }

    @Test func errorsNameTheRevisionAndThePlan() throws {
        let unknown = #expect(throws: DiffError.self) { try DiffFixtures.differ.compare(plan: plan, atRevision: "no-such-branch") }
        #expect(unknown.map { "\($0)" } == "git revision \"no-such-branch\" does not name a commit in \(repository)")

        try scratch.write("repo/image/other.yaml", Self.planText)
        let other = repository + "/image/other.yaml"
        let missing = #expect(throws: DiffError.self) { try DiffFixtures.differ.compare(plan: other, atRevision: "HEAD") }
        #expect(missing.map { "\($0)" } == "\(other) does not exist at git revision \"HEAD\"")

        try scratch.write("elsewhere/app.yaml", Self.planText.replacingOccurrences(of: "conf/app.conf", with: "app.conf").replacingOccurrences(of: "[src]", with: "[app.conf]"))
        try scratch.write("elsewhere/app.conf", "port=80\n")
        let outside = #expect(throws: DiffError.self) { try DiffFixtures.differ.compare(plan: scratch.path + "/elsewhere/app.yaml", atRevision: "HEAD") }
        #expect(outside.map { "\($0)" } == "\(scratch.path)/elsewhere is not in a git working copy, so --git has no history to read")
    }

    @Test func anInputMissingAtTheRevisionIsAPlanError() throws {
        try scratch.write("repo/image/conf/extra.conf", "x\n")
        try scratch.write("repo/image/app.yaml", Self.planText.replacingOccurrences(of: "conf/app.conf", with: "conf/extra.conf"))
        try commit("extra")
        try git("rm", "-q", "image/conf/extra.conf")
        try commit("no extra")
        try scratch.write("repo/image/conf/extra.conf", "x\n")
        // At HEAD the plan names a file the commit does not hold.
        let error = #expect(throws: PlanErrors.self) { try DiffFixtures.differ.compare(plan: plan, atRevision: "HEAD") }
        #expect(error?.description == "\(plan)@HEAD:8:40: error: layer \"cfg\": file \"/etc/app.conf\": source \"conf/extra.conf\" does not exist")
    }

    @Test func aContextWiderThanThePlanDirectory() throws {
        try scratch.write("repo/shared/app.conf", "shared=1\n")
        try scratch.write("repo/image/app.yaml", Self.planText.replacingOccurrences(of: "conf/app.conf", with: "../shared/app.conf"))
        try commit("shared")
        try scratch.write("repo/shared/app.conf", "shared=2\n")
        let differ = ImageDiffer(loader: PlanLoader(environment: [:], hostPlatform: Platform(os: "linux", architecture: "amd64"), context: repository))
        guard case .plans(let diff) = try differ.compare(plan: plan, atRevision: "HEAD") else { Issue.record("expected a plan diff"); return }
        let item = try #require(diff.layers.first?.items.first)
        #expect(item.key == "/etc/app.conf")
        #expect(item.fields == [ValueChange(field: "source_digest", old: .string(try Tools.sha256(Array("shared=1\n".utf8))), new: .string(try Tools.sha256(Array("shared=2\n".utf8))))])
        #expect(item.new.map { "\($0)" }?.contains("../shared/app.conf") == true)
        #expect(diff.cache.map(\.outcome) == [.rebuilt, .kept])

        let above = ImageDiffer(loader: PlanLoader(environment: [:], hostPlatform: Platform(os: "linux", architecture: "amd64"), context: scratch.path))
        let error = #expect(throws: DiffError.self) { try above.compare(plan: plan, atRevision: "HEAD") }
        #expect(error.map { "\($0)" } == "\(scratch.path) is outside the git working copy \(repository)")
    }

    @Test func aFailingGitCommandIsReportedWithGitsOwnMessage() throws {
        // A commit whose tree object is gone: the revision resolves, reading
        // its tree does not.
        let tree = try git("rev-parse", "HEAD^{tree}").trimmingCharacters(in: .whitespacesAndNewlines)
        try FileManager.default.removeItem(atPath: repository + "/.git/objects/" + tree.prefix(2) + "/" + tree.dropFirst(2))
        let error = #expect(throws: DiffError.self) { try DiffFixtures.differ.compare(plan: plan, atRevision: "HEAD") }
        #expect(error.map { "\($0)" } == "git read-tree HEAD failed: fatal: failed to unpack tree object HEAD")
    }
}
