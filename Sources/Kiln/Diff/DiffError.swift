import Archive
public import KilnCore
import Strategies

/// Why `kiln diff` cannot compare what it was given.
public enum DiffError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A path that does not exist.
    case missing(path: String)
    /// A directory without `oci-layout`: neither a plan nor a layout.
    case directoryNotLayout(path: String)
    /// One side is a plan, the other a layout.
    case mixedKinds(old: String, oldKind: String, new: String, newKind: String)
    /// `git` is not on `PATH`.
    case gitMissing
    /// The plan is not in a git working copy.
    case notInRepository(path: String)
    /// The plan's directory (or `--context`) is outside the repository.
    case outsideRepository(path: String, root: String)
    /// The revision does not name a commit.
    case unknownRevision(revision: String, root: String)
    /// The plan file does not exist at the revision.
    case planMissingAtRevision(plan: String, revision: String)
    /// A git command failed.
    case git(command: String, detail: String)
    /// A layout holding several images: which to compare is unclear.
    case severalImages(layout: String, count: Int, refs: [String])
    /// A layer blob that cannot be read as a tar.
    case layer(layout: String, digest: ContentDigest, detail: String)
    /// A layer whose uncompressed content does not hash to its diff_id.
    case diffIDMismatch(layout: String, digest: ContentDigest, expected: ContentDigest, actual: ContentDigest)

    public var description: String {
        switch self {
        case .missing(let path):
            "\(path) does not exist"
        case .directoryNotLayout(let path):
            "\(path) is a directory without an oci-layout file: give a plan file or an OCI image layout"
        case .mixedKinds(let old, let oldKind, let new, let newKind):
            "cannot compare \(old) (\(oldKind)) with \(new) (\(newKind)): give two plans or two image layouts"
        case .gitMissing:
            "--git needs the git command, and it is not on PATH"
        case .notInRepository(let path):
            "\(path) is not in a git working copy, so --git has no history to read"
        case .outsideRepository(let path, let root):
            "\(path) is outside the git working copy \(root)"
        case .unknownRevision(let revision, let root):
            "git revision \"\(revision)\" does not name a commit in \(root)"
        case .planMissingAtRevision(let plan, let revision):
            "\(plan) does not exist at git revision \"\(revision)\""
        case .git(let command, let detail):
            "\(command) failed" + (detail.isEmpty ? "" : ": \(detail)")
        case .severalImages(let layout, let count, let refs):
            "\(layout) holds \(count) images" + (refs.isEmpty ? "" : " (refs: \(refs.joined(separator: ", ")))")
                + "; kiln diff compares layouts that hold one image each"
        case .layer(let layout, let digest, let detail):
            "cannot read layer \(digest) of \(layout): \(detail)"
        case .diffIDMismatch(let layout, let digest, let expected, let actual):
            "layer \(digest) of \(layout) does not match its diff_id: expected \(expected), found \(actual)"
        }
    }
}
