import KilnCore
import OCI
import Plan
import Strategies

extension ImageBuilder {
    /// Generates the SBOM the plan asks for (`sbom:` or `--sbom`) of the
    /// image just written and stages it as an artifact about `manifest`;
    /// nil when none is asked for. A multi-platform build calls it once per
    /// platform image, with that image's manifest, platform and layers.
    /// - Throws: ``ImageBuildError/sbom(_:)``.
    func attachSBOM(
        manifest: Descriptor, platform: Platform, base: LoadedBase?, built: [BuiltLayer], staging: LayoutStaging, locks: PackageLocks,
        pool: WorkerPool
    ) async throws -> SBOMReport? {
        guard let format = plan.sbom else { return nil }
        let subject = sbomSubject(manifest: manifest, platform: platform, base: base, built: built, staging: staging, locks: locks)
        // Reading and hashing every layer blocks: on the build's pool.
        let result = await pool.run { () -> Result<SBOMReport, SBOMError> in
            Result { () throws(SBOMError) -> SBOMReport in try SBOMGenerator.attach(subject, format: format, to: staging) }
        }
        do {
            return try result.get()
        } catch {
            throw ImageBuildError.sbom(error)
        }
    }

    /// The SBOM subject of the image just written: its manifest, its base
    /// layers and the plan layers with their provenance, the base as the
    /// plan names it (never a host path outside the plan's directory), and
    /// the `.deb` URLs the lock file pins.
    func sbomSubject(
        manifest: Descriptor, platform: Platform, base: LoadedBase?, built: [BuiltLayer], staging: LayoutStaging, locks: PackageLocks
    ) -> SBOMSubject {
        var layers = (base?.image.layers ?? []).map { SBOMLayer(layer: $0, role: .base) }
        for (spec, layer) in zip(plan.layers, built) {
            layers.append(SBOMLayer(
                layer: LayoutLayer(
                    descriptor: layer.descriptor, diffID: layer.report.diffID, path: staging.blobPath(layer.descriptor.digest),
                    compression: MediaType.layerCompression(layer.descriptor.mediaType) ?? .none),
                role: .plan(name: spec.name, strategy: spec.strategy.typeName, provenance: layer.report.provenance)))
        }
        var urls: [String: String] = [:]
        for spec in plan.layers {
            for package in locks[spec.name]?.packages ?? [] {
                urls[SBOMSubject.packageKey(name: package.name, version: package.version, architecture: package.architecture)] = package.url
            }
        }
        let vendorKey = "org.opencontainers.image.vendor"
        return SBOMSubject(
            name: plan.name, tag: plan.tag, created: plan.created, platform: platform, manifest: manifest, layers: layers,
            base: base.map { SBOMBaseImage(reference: baseReference(), digest: $0.image.manifestDescriptor.digest) },
            vendor: plan.annotations[vendorKey] ?? plan.config.labels[vendorKey], packageURLs: urls)
    }

    /// The plan's base as the SBOM names it: a registry reference as
    /// written; a layout or archive by its path relative to the plan's
    /// directory, or only its name when it lies outside.
    private func baseReference() -> String {
        func local(_ scheme: String, _ path: String, _ ref: String?) -> String {
            var relative = Provenance.hostPath(path, relativeTo: plan.directory)
            if relative == ".." || relative.hasPrefix("../") { relative = path.split(separator: "/").last.map(String.init) ?? "." }
            return scheme + ":" + relative + (ref.map { ":" + $0 } ?? "")
        }
        switch plan.base {
        case .scratch: return "scratch"
        case .ociLayout(let path, let ref): return local("oci", path, ref)
        case .ociArchive(let path, let ref): return local("oci-archive", path, ref)
        case .registry(let reference): return reference.description
        }
    }
}
