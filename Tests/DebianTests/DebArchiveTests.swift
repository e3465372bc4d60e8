import Foundation
import Archive
import KilnCore
import Strategies
import Testing
import TestSupport
@testable import Debian

/// Packages dpkg-deb refuses to build, made byte by byte with Python's
/// tarfile and a hand-written ar container, to check what unpacking rejects.
@Suite(.requires(.tools("python3")))
struct DebArchiveTests {
    /// Writes a `.deb` whose data.tar holds `members` (Python tuples
    /// `(name, type, linkname)`, type being a tarfile constant name).
    static func craft(_ path: String, members: String, control: String = "Package: evil\nVersion: 1\nArchitecture: all\n", withData: Bool = true) throws {
        let script = """
        import io, sys, tarfile
        def tar(entries, gz):
            buf = io.BytesIO()
            with tarfile.open(fileobj=buf, mode='w:gz' if gz else 'w', format=tarfile.GNU_FORMAT) as t:
                for name, kind, link, data in entries:
                    info = tarfile.TarInfo(name)
                    info.type = getattr(tarfile, kind)
                    info.linkname = link
                    info.mode = 0o644
                    if kind == 'REGTYPE':
                        info.size = len(data)
                        t.addfile(info, io.BytesIO(data))
                    else:
                        t.addfile(info)
            return buf.getvalue()
        def member(name, data):
            header = name.ljust(16).encode() + b'0'.ljust(12) + b'0'.ljust(6) + b'0'.ljust(6) + b'100644'.ljust(8) + str(len(data)).ljust(10).encode() + b'`\\n'
            return header + data + (b'\\n' if len(data) % 2 else b'')
        control = tar([('./control', 'REGTYPE', '', sys.argv[2].encode())], True)
        parts = [member('debian-binary', b'2.0\\n'), member('control.tar.gz', control)]
        if sys.argv[4] == '1':
            parts.append(member('data.tar', tar(\(members), False)))
        open(sys.argv[1], 'wb').write(b'!<arch>\\n' + b''.join(parts))
        """
        try Tools.run(["python3", "-c", script, path, control, "unused", withData ? "1" : "0"])
    }

    func unpack(_ members: String, expecting message: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let temporaryDirectory = try TemporaryDirectory(prefix: "kiln-deb")
        defer { temporaryDirectory.remove() }
        let directory = temporaryDirectory.path
        let deb = directory + "/evil.deb"
        try Self.craft(deb, members: members)
        var assembler = LayerAssembler(scratch: directory)
        #expect(sourceLocation: sourceLocation) {
            try assembler.add(package: "evil", version: "1", architecture: "all", sha256: "", debPath: deb)
        } throws: { error in
            (error as? DebArchiveError)?.description == message
        }
    }

    @Test func parentDirectoryIsRejected() throws {
        try unpack("[('./etc/../../escape', 'REGTYPE', '', b'x')]", expecting: "package evil: entry \"./etc/../../escape\" is absolute or leaves the root with \"..\"")
    }

    @Test func absolutePathIsRejected() throws {
        try unpack("[('/etc/passwd', 'REGTYPE', '', b'x')]", expecting: "package evil: entry \"/etc/passwd\" is absolute or leaves the root with \"..\"")
    }

    @Test func hardlinkOutsideThePackageIsRejected() throws {
        try unpack("[('./usr/bin/x', 'LNKTYPE', '../../etc/shadow', b'')]", expecting: "package evil: hardlink \"usr/bin/x\" points at \"../../etc/shadow\", which is not an earlier file of the package")
        try unpack("[('./usr/bin/x', 'LNKTYPE', './usr/bin/later', b''), ('./usr/bin/later', 'REGTYPE', '', b'x')]", expecting: "package evil: hardlink \"usr/bin/x\" points at \"./usr/bin/later\", which is not an earlier file of the package")
        try unpack("[('./usr/bin/x', 'LNKTYPE', '/usr/bin/y', b'')]", expecting: "package evil: hardlink \"usr/bin/x\" points at \"/usr/bin/y\", which is not an earlier file of the package")
    }

    @Test func devicesAreRejected() throws {
        try unpack("[('./dev/null', 'CHRTYPE', '', b'')]", expecting: "package evil: \"dev/null\" is a device file, which a packages layer cannot hold")
        try unpack("[('./run/fifo', 'FIFOTYPE', '', b'')]", expecting: "package evil: \"run/fifo\" is a FIFO, which a packages layer cannot hold")
    }

    @Test func hardlinkAcrossMergedDirectoriesAndCrafted() throws {
        let temporaryDirectory = try TemporaryDirectory(prefix: "kiln-deb")
        defer { temporaryDirectory.remove() }
        let directory = temporaryDirectory.path
        let deb = directory + "/ok.deb"
        try Self.craft(deb, members: "[('./bin/a', 'REGTYPE', '', b'abc'), ('./usr/bin/b', 'LNKTYPE', './bin/a', b'')]")
        var assembler = LayerAssembler(scratch: directory)
        try assembler.add(package: "evil", version: "1", architecture: "all", sha256: "", debPath: deb)
        #expect(assembler.tree["usr/bin/b"]?.kind == .hardlink(target: "usr/bin/a"))
        guard case .regular(.bytes(let md5sums)) = assembler.tree["var/lib/dpkg/status.d/evil.md5sums"]?.kind else {
            Issue.record("no md5sums")
            return
        }
        // md5("abc"), as md5sum prints it.
        let md5 = "900150983cd24fb0d6963f7d28e17f72"
        #expect(String(decoding: md5sums, as: UTF8.self) == "\(md5)  usr/bin/a\n\(md5)  usr/bin/b\n")
    }

    @Test func controlMustMatchTheIndex() throws {
        let temporaryDirectory = try TemporaryDirectory(prefix: "kiln-deb")
        defer { temporaryDirectory.remove() }
        let directory = temporaryDirectory.path
        let deb = directory + "/x.deb"
        try Self.craft(deb, members: "[]")
        var assembler = LayerAssembler(scratch: directory)
        #expect {
            try assembler.add(package: "evil", version: "2", architecture: "all", sha256: "", debPath: deb)
        } throws: {
            ($0 as? DebArchiveError)?.description == "\(deb): the file is evil 1 (all), the index says evil 2 (all)"
        }
    }

    @Test func notADeb() throws {
        let temporaryDirectory = try TemporaryDirectory(prefix: "kiln-deb")
        defer { temporaryDirectory.remove() }
        let directory = temporaryDirectory.path
        let text = directory + "/text.deb"
        try Files.write("hello", to: text)
        #expect { try DebFile(path: text) } throws: { ($0 as? DebArchiveError)?.description == "\(text): not a Debian package (not an ar archive)" }
        let noData = directory + "/nodata.deb"
        try Self.craft(noData, members: "[]", withData: false)
        #expect { try DebFile(path: noData) } throws: { ($0 as? DebArchiveError)?.description == "\(noData): not a Debian package (no data.tar member)" }
        #expect { try DebFile(path: directory + "/missing.deb") } throws: {
            ($0 as? DebArchiveError)?.description == "\(directory)/missing.deb: No such file or directory"
        }
    }
}
