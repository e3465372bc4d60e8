internal import Archive
import KilnCore
internal import Strategies

/// A Debian binary package file: `debian-binary`, `control.tar[.gz|.xz|.zst]`
/// and `data.tar[.gz|.xz|.zst]` in an ar container.
final class DebFile {
    /// The `.deb` path, for messages.
    let path: String
    private let archive: ArArchive
    private let control: ArArchive.Member
    private let data: ArArchive.Member

    /// The maintainer scripts dpkg would run; kiln runs none of them.
    static let maintainerScripts = ["preinst", "postinst", "prerm", "postrm", "config", "triggers"]

    /// Opens the package and finds its members.
    /// - Throws: ``DebArchiveError`` when the file is not a format-2.0 `.deb`.
    init(path: String) throws(DebArchiveError) {
        self.path = path
        archive = try ArArchive(path: path)
        guard let first = archive.members.first, first.name == "debian-binary" else {
            throw .notDeb(path: path, reason: "the first member is not debian-binary")
        }
        let version = try archive.prefix(of: first, count: 4)
        guard version.count >= 3, version[0..<3].elementsEqual("2.0".utf8) else {
            throw .notDeb(path: path, reason: "unsupported format (debian-binary is not 2.0)")
        }
        guard let control = archive.members.first(where: { DebFile.isTar($0.name, stem: "control.tar") }) else {
            throw .notDeb(path: path, reason: "no control.tar member")
        }
        guard let data = archive.members.first(where: { DebFile.isTar($0.name, stem: "data.tar") }) else {
            throw .notDeb(path: path, reason: "no data.tar member")
        }
        self.control = control
        self.data = data
    }

    private static func isTar(_ name: String, stem: String) -> Bool {
        name == stem || name == stem + ".gz" || name == stem + ".xz" || name == stem + ".zst"
    }

    /// What the control archive says.
    struct Control {
        /// The `control` file's bytes, as dpkg would store them.
        var control: [UInt8]
        /// Maintainer scripts the package ships, in ``DebFile/maintainerScripts`` order.
        var scripts: [String]
    }

    /// Reads `control` and notes which maintainer scripts exist.
    /// - Throws: ``DebArchiveError/corruptMember(path:member:message:)``.
    func readControl() throws(DebArchiveError) -> Control {
        var controlBytes: [UInt8]?
        var scripts: Set<String> = []
        do {
            let reader = try tarReader(control)
            while let member = try reader.next() {
                guard let name = try member.normalizedPath() else { continue }
                if name == "control", member.kind == .regular {
                    controlBytes = try reader.readContent(limit: 4 << 20)
                } else if DebFile.maintainerScripts.contains(name) {
                    scripts.insert(name)
                }
            }
        } catch let error as DebArchiveError {
            throw error
        } catch {
            throw .corruptMember(path: path, member: control.name, message: "\(error)")
        }
        guard let controlBytes else {
            throw .corruptMember(path: path, member: control.name, message: "no control file")
        }
        return Control(control: controlBytes, scripts: DebFile.maintainerScripts.filter(scripts.contains))
    }

    /// A reader over `data.tar`, decompressed as its member name says.
    func dataReader() throws(DebArchiveError) -> TarReader {
        try tarReader(data)
    }

    /// The data member's name (`data.tar.xz`), for messages.
    var dataMemberName: String { data.name }

    private func tarReader(_ member: ArArchive.Member) throws(DebArchiveError) -> TarReader {
        let format: DecompressionFormat = switch member.name.split(separator: ".").last {
        case "gz": .gzip
        case "xz": .xz
        case "zst": .zstd
        default: .none
        }
        let source = MemberSource(archive: archive, member: member)
        guard format != .none else { return TarReader(source: source) }
        do {
            return TarReader(source: try Decompressor(format: format, source: source))
        } catch {
            throw .corruptMember(path: path, member: member.name, message: error.description)
        }
    }
}
