public import KilnCore
public import OCI

/// An SBOM document, written.
public struct SBOMDocument: Sendable {
    /// Its format.
    public var format: SBOMFormat
    /// The JSON bytes (canonical JSON).
    public var bytes: [UInt8]
    /// How many files it covers, by kind of origin.
    public var coverage: SBOMCoverage
}

/// What a build says about the SBOM it attached (`--json`: `sbom`).
public struct SBOMReport: Codable, Hashable, Sendable {
    /// `spdx` or `cyclonedx`.
    public var format: String
    /// The artifact manifest's digest (listed in `index.json`).
    public var artifact: ContentDigest
    /// The document blob's digest.
    public var document: ContentDigest
    /// Files covered per kind of origin.
    public var coverage: SBOMCoverage

    /// Memberwise.
    public init(format: String, artifact: ContentDigest, document: ContentDigest, coverage: SBOMCoverage) {
        self.format = format
        self.artifact = artifact
        self.document = document
        self.coverage = coverage
    }
}

/// Why an SBOM could not be made.
public enum SBOMError: Error, CustomStringConvertible, Sendable {
    /// A layer could not be read.
    case layer(ImageFileSystemError)
    /// The document could not be encoded.
    case encoding(CanonicalJSONError)
    /// The artifact could not be staged.
    case layout(LayoutError)

    public var description: String {
        switch self {
        case .layer(let error): "SBOM: \(error)"
        case .encoding(let error): "SBOM: \(error)"
        case .layout(let error): "SBOM: \(error)"
        }
    }
}

/// Makes the SBOM of one image: every regular file of its layers (applied
/// with whiteouts) hashed and accounted for by its origin. A function of
/// the image and what is known of its layers, so a multi-platform build
/// calls it once per platform image, and a fully cached rebuild (whose
/// layers carry the same provenance) gets the same bytes.
public enum SBOMGenerator {
    /// The document for `subject` in `format`.
    /// - Throws: ``SBOMError``.
    public static func generate(_ subject: SBOMSubject, format: SBOMFormat) throws(SBOMError) -> SBOMDocument {
        let catalog: ImageFileCatalog
        do {
            catalog = try ImageFileCatalog.read(subject.layers.map(\.layer))
        } catch {
            throw .layer(error)
        }
        let model = SBOMModel(subject: subject, catalog: catalog)
        do {
            switch format {
            case .spdx: return SBOMDocument(format: format, bytes: try SPDXDocument.encode(model), coverage: model.coverage)
            case .cyclonedx: return SBOMDocument(format: format, bytes: try CycloneDXDocument.encode(model), coverage: model.coverage)
            }
        } catch {
            throw .encoding(error)
        }
    }

    /// Generates the SBOM of `subject` and stages it in `staging` as an
    /// artifact whose subject is the image manifest (see
    /// ``LayoutStaging/attachArtifact(_:artifactType:subject:annotations:)``).
    /// Call after the image is written.
    /// - Throws: ``SBOMError``.
    public static func attach(_ subject: SBOMSubject, format: SBOMFormat, to staging: LayoutStaging) throws(SBOMError) -> SBOMReport {
        let document = try generate(subject, format: format)
        do {
            let artifact = try staging.attachArtifact(
                document.bytes, artifactType: format.mediaType, subject: subject.manifest,
                annotations: [createdAnnotation: subject.created.rfc3339])
            return SBOMReport(
                format: format.rawValue, artifact: artifact.digest, document: BlobDigest.sha256(document.bytes), coverage: document.coverage)
        } catch {
            throw .layout(error)
        }
    }

    /// The annotation oras writes on an artifact: here the plan's `created`.
    public static let createdAnnotation = "org.opencontainers.image.created"
}
