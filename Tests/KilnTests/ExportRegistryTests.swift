import Foundation
import Testing
import TestSupport

/// `kiln export REF` for an image on a registry (Debian's docker-registry
/// on loopback): the same file system as the layout it was pushed from.
@Suite(.requires(.root, .tools("docker-registry", "umoci", "python3")))
struct ExportRegistryTests {
    @Test func aRegistryImageExportsAsTheLayoutItWasPushedFrom() throws {
        let scratch = try TemporaryDirectory(prefix: "kiln-export-registry")
        defer { scratch.remove() }
        let registry = try RegistryServer(mode: .plain)
        defer { registry.stop() }
        try HandLayout.write(ExportTests.baseLayers + [[.marker("etc/.wh.keep"), .marker("opt/app/.wh..wh..opq")]], to: scratch.path("image"))
        let reference = registry.host + "/export/app:1"
        let insecure = ["--insecure-registry", registry.host]
        let pushed = try Tools.kiln(["push", "image", reference] + insecure, in: scratch.path)
        #expect(pushed.status == 0, "\(pushed.stderr)")
        let fromRegistry = try Tools.kiln(["export", reference, "--rootfs", "from-registry", "--platform", "linux/amd64"] + insecure, in: scratch.path)
        #expect(fromRegistry.status == 0, "\(fromRegistry.stderr)")
        #expect(try Tools.kiln(["export", "image", "--rootfs", "from-layout"], in: scratch.path).status == 0)
        let listing = try Tree.listing(scratch.path("from-registry"))
        #expect(listing == (try Tree.listing(scratch.path("from-layout"))))
        #expect(listing.contains("opt/app|d|750|1000:1000|"))
        #expect(!listing.contains { $0.hasPrefix("etc/keep") || $0.hasPrefix("opt/app/") })
    }
}
