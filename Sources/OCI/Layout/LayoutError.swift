import Glibc
import Archive
public import KilnCore

/// Why an image layout cannot be written or read.
public enum LayoutError: Error, Hashable, Sendable, CustomStringConvertible {
    // MARK: Writing
    /// The output path exists and is a file (or another non-directory).
    case outputNotDirectory(path: String)
    /// The output path is a symbolic link; kiln replaces directories only.
    case outputIsSymlink(path: String)
    /// The output directory holds something other than an image layout:
    /// `entries`, its names, sorted.
    case outputNotLayout(path: String, entries: [String])
    /// The output is a layout, but holds files no layout holds (listed,
    /// relative to it); replacing it would delete them.
    case outputHoldsOtherFiles(path: String, files: [String])
    /// The output's parent directory does not exist.
    case outputParentMissing(path: String, parent: String)
    /// A manifest names a layer whose blob was never put in the staging directory.
    case blobNotStaged(digest: ContentDigest)
    /// The config's diff_ids do not pair up with the manifest's layers.
    case layerCountMismatch(what: String, layers: Int, diffIDs: Int)
    /// The staging directory was already published or discarded.
    case stagingClosed(path: String)
    /// A system call failed.
    case io(operation: String, path: String, errno: Int32)
    /// A value could not be written as canonical JSON.
    case encoding(what: String, error: CanonicalJSONError)

    // MARK: Reading
    /// No `oci-layout` file: not an image layout.
    case notALayout(path: String)
    /// An `oci-layout` with a version kiln does not know.
    case unsupportedLayoutVersion(path: String, version: String)
    /// `oci:DIR:REF` names a ref the layout does not have.
    case refNotFound(layout: String, ref: String, available: [String])
    /// `index.json` lists no manifest.
    case noManifest(layout: String)
    /// Several manifests and no ref to choose.
    case ambiguousImage(layout: String, count: Int, refs: [String])
    /// A descriptor's blob is not in `blobs/`.
    case blobMissing(path: String, digest: ContentDigest)
    /// A blob path holds something other than a regular file (a symlink is
    /// never followed: it could point anywhere on the host).
    case blobNotRegular(path: String, kind: String)
    /// A blob's bytes hash to another digest than its descriptor says.
    case digestMismatch(path: String, expected: ContentDigest, actual: ContentDigest)
    /// A blob's length differs from its descriptor's size.
    case sizeMismatch(path: String, expected: Int64, actual: Int64)
    /// A JSON document that does not parse or lacks required fields.
    case badJSON(path: String, what: String, detail: String)
    /// A descriptor of a kind kiln cannot use there.
    case unsupportedMediaType(path: String, what: String, mediaType: String)
    /// A WebAssembly layer (a `wasip1/wasm` image): a module, not a file
    /// system, so nothing that reads an image's files can use it.
    case webAssemblyLayer(path: String)
    /// No manifest for the platform the plan builds.
    case platformNotFound(layout: String, wanted: String, available: [String])
    /// An index with images for several platforms, and no platform to choose.
    case platformRequired(layout: String, available: [String])
    /// The chosen image is for another platform than the plan's.
    case platformMismatch(layout: String, found: String, wanted: String)
    /// An `oci-archive` that cannot be unpacked.
    case archive(path: String, detail: String)
    /// The `--tar` archive of a layout could not be written.
    case archiveWrite(path: String, detail: String)

    /// The first five names, quoted, and how many more.
    private static func names(_ names: [String]) -> String {
        names.prefix(5).map { "\"\($0)\"" }.joined(separator: ", ") + (names.count > 5 ? " and \(names.count - 5) more" : "")
    }

    public var description: String {
        switch self {
        case .outputNotDirectory(let path):
            "output \(path) exists and is not a directory"
        case .outputIsSymlink(let path):
            "output \(path) is a symbolic link; name the directory it points to"
        case .outputNotLayout(let path, let entries):
            "output \(path) is a directory that is not an OCI image layout: it holds \(LayoutError.names(entries))"
                + "; kiln replaces only a layout or an empty directory, so choose another output or empty it"
        case .outputHoldsOtherFiles(let path, let files):
            "output \(path) is an OCI image layout but also holds \(LayoutError.names(files))"
                + "; kiln replaces the whole directory, so move them out of it or choose another output"
        case .outputParentMissing(let path, let parent):
            "cannot write \(path): directory \(parent) does not exist"
        case .blobNotStaged(let digest):
            "blob \(digest) was not added to the layout before the manifest that names it"
        case .layerCountMismatch(let what, let layers, let diffIDs):
            "\(what) has \(layers) layers but \(diffIDs) diff_ids"
        case .stagingClosed(let path):
            "staging directory \(path) was already published or discarded"
        case .io(let operation, let path, let code):
            "cannot \(operation) \(path): \(String(cString: strerror(code)))"
        case .encoding(let what, let error):
            "cannot write the \(what): \(error)"
        case .notALayout(let path):
            "\(path) is not an OCI image layout: it has no oci-layout file"
        case .unsupportedLayoutVersion(let path, let version):
            "\(path) is an OCI image layout of version \(version); kiln reads version 1.x"
        case .refNotFound(let layout, let ref, let available):
            "\(layout) has no image named \"\(ref)\"" + LayoutError.list(available, empty: "it names none of its images")
        case .noManifest(let layout):
            "\(layout)/index.json lists no image"
        case .ambiguousImage(let layout, let count, let refs):
            "\(layout) holds \(count) images; name one as oci:\(layout):REF" + LayoutError.list(refs, empty: "none of them has a ref name")
        case .blobMissing(let path, let digest):
            "blob \(digest) is missing: \(path) does not exist"
        case .blobNotRegular(let path, let kind):
            "blob \(path) is \(kind), not a regular file; kiln does not follow links out of a layout"
        case .digestMismatch(let path, let expected, let actual):
            "blob \(path) does not match its digest: expected \(expected), found \(actual)"
        case .sizeMismatch(let path, let expected, let actual):
            "blob \(path) holds \(actual) bytes, its descriptor says \(expected)"
        case .badJSON(let path, let what, let detail):
            "\(path) is not a valid \(what): \(detail)"
        case .unsupportedMediaType(let path, let what, let mediaType):
            "\(what) \(path) has media type \(mediaType), which kiln cannot read"
        case .webAssemblyLayer(let path):
            "layer \(path) is a WebAssembly module (\(MediaType.wasmLayer)), not a file system: a wasip1/wasm image has no files to export, diff or build on; "
                + "its modules are its layer blobs (kiln inspect lists them)"
        case .platformNotFound(let layout, let wanted, let available):
            "\(layout) has no image for \(wanted)" + LayoutError.list(available, empty: "its images name no platform", label: "platforms")
        case .platformRequired(let layout, let available):
            "\(layout) holds images for several platforms; name the platform to use" + LayoutError.list(available, empty: "none", label: "platforms")
        case .platformMismatch(let layout, let found, let wanted):
            "base image \(layout) is for \(found), but the plan builds \(wanted)"
        case .archive(let path, let detail):
            "cannot unpack \(path): \(detail)"
        case .archiveWrite(let path, let detail):
            "cannot write the archive \(path): \(detail)"
        }
    }

    private static func list(_ items: [String], empty: String, label: String = "refs") -> String {
        items.isEmpty ? " (\(empty))" : " (\(label): \(items.joined(separator: ", ")))"
    }
}

extension LayoutError {
    /// The layout's form of a failed file operation.
    init(_ error: FileIOError) {
        self = .io(operation: error.operation, path: error.path, errno: error.errno)
    }
}
