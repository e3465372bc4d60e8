import Foundation
import Glibc
@testable import OCI
import Testing
import TestSupport

/// `renameat2(RENAME_EXCHANGE)` through the CLinux shim.
@Suite struct BlobFilesExchangeTests {
    @Test func swapsTwoDirectoriesOrSaysItCannot() throws {
        let directory = try TemporaryDirectory()
        let first = try directory.write("first/which", "first")
        let second = try directory.write("second/which", "second")
        let swapped = try BlobFiles.exchange(directory.path + "/first", directory.path + "/second")
        // Where the file system has no RENAME_EXCHANGE, nothing moved and
        // the caller falls back to two renames.
        let expected = swapped ? ["second", "first"] : ["first", "second"]
        #expect(try [first, second].map { try String(contentsOfFile: $0, encoding: .utf8) } == expected)
    }

    @Test func aMissingPathIsAnErrorNamingBoth() throws {
        let directory = try TemporaryDirectory()
        let present = try directory.directory("present")
        let missing = directory.path + "/missing"
        let error = #expect(throws: LayoutError.self) { try BlobFiles.exchange(present, missing) }
        #expect(error.map { "\($0)" } == "cannot exchange \(present) with \(missing): No such file or directory")
    }
}
