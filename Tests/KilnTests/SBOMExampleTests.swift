import Foundation
import Testing
import TestSupport

extension BuildExampleTests {
    /// examples/sbom: the SBOM the plan asks for is attached, passes the
    /// SBOM validators, and covers exactly the files umoci unpacks.
    @Test(.requires(.kilnBinary, SBOMFixture.validators))
    func sbomExampleAttachesAnSPDXDocumentCoveringEveryFile() throws {
        let built = try Build.run([Build.examples + "/sbom/sbom.yaml", "-o", "out"], in: scratch.path)
        #expect(built.succeeded, "\(built.stderr)")
        #expect(built.stderrLines.contains { $0.hasPrefix("sbom spdx sha256:") && $0.hasSuffix(": 3 files covered: 1 build layer, 2 files entry") }, "\(built.stderr)")
        let layout = try BuiltLayout(scratch.path + "/out")
        try checkDigests(layout)
        let rootfs = try Peers.check(layout, name: "example.com/kiln/sbom-demo", tag: "1.0", in: scratch.path)
        let printed = try Tools.execute([KilnBinary.path, "sbom", "out"], in: scratch.path)
        #expect(printed.succeeded, "\(printed.stderr)")
        try Files.write(printed.output, to: scratch.path + "/sbom.spdx.json")
        let checked = try SBOMFixture.check(scratch.path + "/sbom.spdx.json", rootfs: rootfs)
        #expect(checked.contains("all 3 regular files covered"))
        let document = try #require(try JSONSerialization.jsonObject(with: Data(printed.output)) as? [String: Any])
        let image = try #require((document["packages"] as? [[String: Any]])?.first)
        #expect(image["supplier"] as? String == "Organization: Example Inc.")
    }
}
