import KilnCore

/// Debian's merged-/usr layout: `/bin`, `/sbin` and `/lib*` are symlinks
/// into `/usr`, so packages' files there really live under `/usr`.
enum UsrMerge {
    /// The top-level directories that are aliases of `/usr/<name>`.
    static let aliased = ["bin", "lib", "lib32", "lib64", "libo32", "libx32", "sbin"]

    /// `bin/ls` → `usr/bin/ls`, `lib` → `usr/lib`; other paths unchanged.
    static func merged(_ path: String) -> String {
        let top = path.split(separator: "/", maxSplits: 1).first.map(String.init) ?? path
        return aliased.contains(top) ? "usr/" + path : path
    }

    /// Whether a symlink at `linkPath` (layer form, before merging) pointing
    /// at `target` would, once both are merged, point at itself: packages
    /// ship such compatibility links (`/usr/bin/x -> /bin/x`) that only make
    /// sense on an unmerged system, and the file they alias wins.
    static func isSelfLink(at linkPath: String, target: String) -> Bool {
        var components: [Substring]
        if target.hasPrefix("/") {
            components = []
        } else {
            components = linkPath.split(separator: "/")
            components.removeLast()
        }
        for component in target.split(separator: "/") {
            switch component {
            case ".": continue
            case "..": if !components.isEmpty { components.removeLast() }
            default: components.append(component)
            }
        }
        guard !components.isEmpty else { return false }
        return merged(components.joined(separator: "/")) == merged(linkPath)
    }
}
