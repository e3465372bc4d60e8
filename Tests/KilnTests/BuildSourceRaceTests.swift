import Foundation
import Testing
import TestSupport

/// Issue 22, finding 1: a file or a directory of a files layer's source
/// (or a build layer's input) swapped for a symlink to something outside the context while builds
/// run. A Python loop exchanges the two (`renameat2(RENAME_EXCHANGE)`, so
/// the path always exists) as fast as it can while 20 builds run one after
/// the other; each build either fails naming the file or writes a layer
/// without a byte from outside. (The outside file has the same size as the
/// inside one, so a size check alone would not see the swap.)
@Suite(.requires(.kilnBinary, .tools("python3")))
struct BuildSourceRaceTests {
    let scratch: TemporaryDirectory

    init() throws {
        scratch = try TemporaryDirectory(prefix: "kiln-race")
        try scratch.write("outside/f", "SECRET!\n")
        try scratch.write("ctx/plan.yaml", """
            kiln: 1
            name: example.com/race
            compression: none
            layers:
              - name: data
                type: files
                files:
                  - { path: /data, source: dir }

            """)
        try scratch.write("ctx/build.yaml", """
            kiln: 1
            name: example.com/race
            compression: none
            layers:
              - name: data
                type: build
                inputs: [dir]
                command: cp -R dir "$KILN_OUT/data"

            """)
        try scratch.write("ctx/dir/sub/f", "inside!\n")
        try scratch.write("ctx/dir/zz", "inside!\n")
    }

    /// `leaf`: `dir/zz` and a symlink to `outside/f`; `parent`: the
    /// directory `dir/sub` and a symlink to `outside`; as a files layer's
    /// source and as a build layer's input.
    @Test(arguments: ["leaf", "parent"], ["plan.yaml", "build.yaml"])
    func aSourceSwappedForASymlinkNeverPutsOutsideBytesInALayer(swapped: String, plan: String) throws {
        let (path, target) = swapped == "leaf" ? ("ctx/dir/zz", "outside/f") : ("ctx/dir/sub", "outside")
        try FileManager.default.createSymbolicLink(atPath: scratch.path("ctx/swap"), withDestinationPath: scratch.path(target))
        let swapper = try PythonServer(["-c", Self.swapper, scratch.path(path), scratch.path("ctx/swap")])
        defer { swapper.stop() }
        var failures: [String] = []
        for run in 0..<20 {
            let result = try Build.run(["ctx/" + plan, "-o", "out\(run)", "--no-cache"], in: scratch.path)
            if result.succeeded {
                for blob in try Files.entries(scratch.path("out\(run)/blobs/sha256")) {
                    let bytes = try Files.bytes(scratch.path("out\(run)/blobs/sha256/\(blob)"))
                    #expect(!bytes.contains(subsequence: Array("SECRET!".utf8)), "run \(run): outside bytes in blob \(blob)")
                }
            } else {
                #expect(result.status == 1, "\(result.stderr)")
                failures.append(result.stderrLines.last ?? "")
            }
        }
        // Every failure names what changed under the build.
        for failure in failures {
            #expect(
                ["was replaced", "was removed", "changed while", "no longer", "is a symlink", "outside"].contains { failure.contains($0) },
                "\(failure)")
        }
    }

    /// Exchanges two paths in a loop until killed; prints a line first.
    static let swapper = """
        import ctypes, sys
        libc = ctypes.CDLL(None, use_errno=True)
        first, second = sys.argv[1].encode(), sys.argv[2].encode()
        print('swapping', flush=True)
        while True:
            libc.renameat2(-100, first, -100, second, 2)
        """
}

extension Array where Element == UInt8 {
    /// Whether `needle` occurs in the bytes.
    func contains(subsequence needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, count >= needle.count else { return needle.isEmpty }
        return (0...(count - needle.count)).contains { start in self[start..<(start + needle.count)].elementsEqual(needle) }
    }
}
