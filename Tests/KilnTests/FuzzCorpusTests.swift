import Foundation
import Testing
import TestSupport

/// The fuzz targets' seeds (`fuzz/corpus/`) and every input a campaign
/// found and that was fixed (`fuzz/regressions/`) replayed through the
/// plain `kiln-fuzz` build on every test run: none may crash. (The
/// coverage-guided campaigns themselves run in `scripts/fuzz`.)
@Suite struct FuzzCorpusTests {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("fuzz").path
    static let targets = ["plan", "lock", "tar", "decompress", "deb822", "deb", "oci", "registry"]

    @Test(arguments: targets)
    func seedsAndRegressionsReplayWithoutCrashing(target: String) throws {
        var inputs: [String] = []
        for folder in ["corpus", "regressions"] {
            let directory = Self.root + "/" + folder + "/" + target
            guard FileManager.default.fileExists(atPath: directory) else { continue }
            inputs += try FileManager.default.contentsOfDirectory(atPath: directory).sorted().map { directory + "/" + $0 }
        }
        #expect(folderHasSeeds(target), "fuzz/corpus/\(target) holds no seeds")
        let result = try Tools.execute([KilnBinary.binDirectory + "/kiln-fuzz", target] + inputs)
        #expect(result.signal == nil, "kiln-fuzz \(target) crashed: \(result.stderr)")
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout == "kiln-fuzz \(target): \(inputs.count) input\(inputs.count == 1 ? "" : "s") ran\n")
    }

    private func folderHasSeeds(_ target: String) -> Bool {
        ((try? FileManager.default.contentsOfDirectory(atPath: Self.root + "/corpus/" + target)) ?? []).count > 0
    }
}
