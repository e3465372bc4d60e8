internal import Foundation
public import KilnCore
public import OCI

/// A manifest or an index as a registry served it, decoded by its media
/// type (OCI or Docker schema 2; ``RegistryClient/fetchManifest(_:reference:)``
/// has already refused schema 1).
public enum ImageDocument: Sendable {
    /// One image: a config and its layers.
    case manifest(ImageManifest)
    /// Several images, usually one per platform.
    case index(ImageIndex)

    /// Decodes `fetched`.
    /// - Throws: ``RegistryError`` (`.invalidResponse`) naming the
    ///   repository and digest when the bytes are not the document their
    ///   media type says; (`.unsupported`) for a media type that is neither.
    public init(_ fetched: FetchedManifest, repository: Repository) throws(RegistryError) {
        func failure(_ kind: RegistryError.Kind, _ message: String) -> RegistryError {
            RegistryError(kind, message, operation: .pulling, registry: repository.registry, repository: repository.path, subject: "@" + fetched.digest.description)
        }
        let isIndex = MediaType.isIndex(fetched.mediaType)
        guard isIndex || MediaType.isManifest(fetched.mediaType) else {
            throw failure(.unsupported, "media type \"\(fetched.mediaType)\" is not an image manifest or index kiln reads")
        }
        do {
            if isIndex {
                self = .index(try JSONDecoder().decode(ImageIndex.self, from: Data(fetched.bytes)))
            } else {
                self = .manifest(try JSONDecoder().decode(ImageManifest.self, from: Data(fetched.bytes)))
            }
        } catch {
            throw failure(.invalidResponse, "the \(isIndex ? "index" : "manifest") is not valid JSON of its media type (\(Self.explain(error)))")
        }
    }

    /// The blobs a manifest names: its config, then its layers.
    public static func blobs(of manifest: ImageManifest) -> [Descriptor] {
        [manifest.config] + manifest.layers
    }

    private static func explain(_ error: any Error) -> String {
        switch error as? DecodingError {
        case .keyNotFound(let key, _): "missing \"\(key.stringValue)\""
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            "wrong type at " + context.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
        case .dataCorrupted: "not JSON"
        default: "\(error)"
        }
    }
}

extension ImageDocument {
    /// The media type a stored manifest declares, or what its shape says
    /// when it declares none (an OCI index lists `manifests`).
    static func mediaType(of bytes: [UInt8]) -> String {
        struct Shape: Decodable {
            var mediaType: String?
            var manifests: [Descriptor]?
        }
        let shape = try? JSONDecoder().decode(Shape.self, from: Data(bytes))
        return shape?.mediaType ?? (shape?.manifests != nil ? MediaType.imageIndex : MediaType.imageManifest)
    }
}
