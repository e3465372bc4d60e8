import Foundation
import Glibc

/// Entry points of the fuzz targets (`fuzz/`, `scripts/fuzz`): untrusted
/// bytes parsed exactly as kiln parses them, the result thrown away. Errors
/// are expected; a crash, a hang or a sanitizer report is the bug.
public enum DebianFuzzing {
    /// deb822 text (Release, Packages, control files, `.sources`), each
    /// stanza read as a repository index record.
    public static func deb822(_ bytes: [UInt8]) {
        guard let stanzas = try? Deb822Parser.parse(String(decoding: bytes, as: UTF8.self), source: "fuzz") else { return }
        for stanza in stanzas { _ = try? PackageRecord(stanza: stanza, baseURI: "http://127.0.0.1/debian", origin: "fuzz") }
    }

    /// A `.deb` file: the ar container, its control fields and every data
    /// member. The bytes go through a file, since kiln reads `.deb`s from disk.
    /// - Parameter scratch: a writable directory for that file.
    public static func deb(_ bytes: [UInt8], scratch: String) {
        let path = scratch + "/fuzz-\(getpid()).deb"
        defer { unlink(path) }
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes)),
              let deb = try? DebFile(path: path) else { return }
        _ = try? deb.readControl()
        guard let data = try? deb.dataReader() else { return }
        while let member = try? data.next() {
            _ = member
            _ = try? data.readContent(limit: 1 << 20)
        }
    }
}
