import Foundation
@testable import Kiln
import Plan
import Testing
import TestSupport
import KilnProcess

/// git run through ``ChildProcess``: the path list goes from `ls-files -z`'s
/// output to `checkout-index --stdin` byte for byte, and git's failures
/// come back as kiln's errors.
@Suite(.requires(.tools("git")))
struct GitCheckoutTests {
    @Test func checksOutOddNamesAndBinaryContentBelowTheScope() throws {
        let scratch = try TemporaryDirectory()
        let repository = try scratch.directory("repo")
        let bytes: [UInt8] = [0x00, 0x01, 0xFF, 0x0A, 0x00]
        try scratch.write("repo/dir/a name\nwith a newline", bytes: bytes)
        try scratch.write("repo/dir/plain", "plain\n")
        try scratch.write("repo/other", "outside the scope\n")
        let git = ["git", "-C", repository, "-c", "user.name=kiln", "-c", "user.email=kiln@example.com"]
        try Tools.run(git + ["init", "-q"])
        try Tools.run(git + ["add", "-A"])
        try Tools.run(git + ["commit", "-q", "-m", "first"])
        try scratch.write("repo/dir/plain", "changed in the working copy\n")

        let root = try GitCheckout.root(of: repository + "/dir")
        #expect(root == HostPathResolver.realPath(repository))
        let checkout = try GitCheckout.make(revision: "HEAD", scope: root + "/dir", root: root)
        defer { checkout.scratch.remove() }
        #expect(FileManager.default.contents(atPath: checkout.mirror + "/dir/a name\nwith a newline").map(Array.init) == bytes)
        #expect(FileManager.default.contents(atPath: checkout.mirror + "/dir/plain") == Data("plain\n".utf8))
        #expect(!FileManager.default.fileExists(atPath: checkout.mirror + "/other"))
    }

    @Test func aDirectoryOutsideAnyWorkingCopyIsReportedAsSuch() throws {
        let scratch = try TemporaryDirectory()
        let error = #expect(throws: DiffError.self) { try GitCheckout.root(of: scratch.path) }
        #expect(error.map { "\($0)" } == "\(scratch.path) is not in a git working copy, so --git has no history to read")
    }
}
