import Plan
import Archive
import KilnCore
import Foundation
import Testing
import TestSupport
@testable import Strategies

@Suite struct DerivationScannerTests {
    static let hashA = "0123456789abcdfghijklmnpqrsvwxyz"
    static let hashB = "zyxwvsrqpnmlkjihgfdcba9876543210"

    @Test func findsReferencesInBytes() {
        let scanner = StoreReferenceScanner(storeDir: "/nix/store")
        let text = "x/nix/store/\(Self.hashA)-hello/bin:/nix/store/\(Self.hashB)-glibc-2.38 /nix/store/\(Self.hashA)-again"
        #expect(scanner.hashes(in: Array(text.utf8)) == [Self.hashA, Self.hashB])
    }

    @Test(arguments: [
        "/nix/store/\(hashA)",                         // no dash after the hash
        "/nix/store/\(hashA.dropLast())-x",            // 31 characters
        "/nix/store/0123456789abcdfghijklmnpqrsvwxye-x", // e is not nix-base32
        "/nix/stor/\(hashA)-x",                        // other directory
        "/nix/store//\(hashA)-x",                      // not directly below
        "nix/store\(hashA)-x",                         // no separator
    ])
    func ignoresWhatIsNotAReference(_ text: String) {
        let scanner = StoreReferenceScanner(storeDir: "/nix/store")
        #expect(scanner.hashes(in: Array(text.utf8)).isEmpty)
    }

    @Test func usesTheGivenStoreDirectory() {
        let scanner = StoreReferenceScanner(storeDir: "/tmp/other/store")
        let text = "/nix/store/\(Self.hashA)-a /tmp/other/store/\(Self.hashB)-b"
        #expect(scanner.hashes(in: Array(text.utf8)) == [Self.hashB])
    }

    /// Every split of a reference between two reads, with chunks from one
    /// byte up to longer than the whole reference.
    @Test func findsReferencesAcrossEveryReadBoundary() throws {
        let directory = try TemporaryDirectory()
        let reference = "/nix/store/\(Self.hashA)-name"
        let path = directory.path + "/file"
        for padding in 0..<5 {
            let contents = String(repeating: "\u{1}", count: padding) + reference + "\u{0}tail"
            try Data(contents.utf8).write(to: URL(fileURLWithPath: path))
            for chunkSize in 1...(reference.utf8.count + 3) {
                let scanner = StoreReferenceScanner(storeDir: "/nix/store", chunkSize: chunkSize)
                #expect(try scanner.hashes(inFileAt: path) == [Self.hashA], "chunk \(chunkSize), padding \(padding)")
            }
        }
    }

    /// A 5 MiB binary file read with the default 1 MiB chunks: one
    /// reference straddles the first boundary, one the fourth, and a near
    /// miss (a broken hash) straddles the second.
    @Test func streamsLargeBinaryFiles() throws {
        let directory = try TemporaryDirectory()
        let chunk = 1 << 20
        var bytes = [UInt8](repeating: 0, count: 5 * chunk)
        // Deterministic noise (xorshift) with plenty of '/' bytes for the
        // scanner to reject.
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        for index in bytes.indices {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            bytes[index] = state & 7 == 0 ? UInt8(ascii: "/") : UInt8(truncatingIfNeeded: state >> 32)
        }
        func place(_ text: String, endingAfter boundary: Int, overlap: Int) {
            let utf8 = Array(text.utf8)
            let start = boundary - (utf8.count - overlap)
            bytes.replaceSubrange(start..<start + utf8.count, with: utf8)
        }
        place("/nix/store/\(Self.hashA)-a", endingAfter: chunk, overlap: 7)
        place("/nix/store/\(Self.hashB.prefix(20))e\(Self.hashB.dropFirst(21))-b", endingAfter: 2 * chunk, overlap: 20)
        place("/nix/store/\(Self.hashB)-c", endingAfter: 4 * chunk, overlap: 1)
        let path = directory.path + "/large.bin"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let scanner = StoreReferenceScanner(storeDir: "/nix/store")
        #expect(try scanner.hashes(inFileAt: path) == [Self.hashA, Self.hashB])
    }

    @Test func unreadableFileIsAnError() {
        let scanner = StoreReferenceScanner(storeDir: "/nix/store")
        #expect(throws: StoreReferenceScanner.ScanError(operation: "open", errno: ENOENT)) {
            try scanner.hashes(inFileAt: "/nonexistent/file")
        }
        #expect(StoreReferenceScanner.ScanError(operation: "open", errno: ENOENT).description
            == "cannot open: No such file or directory")
    }
}
