import Archive
import Foundation
import KilnCore
import Plan
import Testing
import TestSupport
@testable import Strategies

/// A fake Nix store in a temporary directory.
///
/// ```
/// app     dir   bin/app refers to lib (and to itself); share is a symlink into data
/// lib     dir   lib/libfoo.so (5 MiB) refers to big across a 1 MiB read boundary, and back to app (a cycle)
/// data    dir   share/file
/// big     file  a store path that is a single file
/// other   dir   referenced by nothing: never included
/// ```
struct FakeStore {
    let directory: TemporaryDirectory
    var store: String { directory.path + "/store" }

    static let app = "0a1b2c3d4f5g6h7i8j9k0l1m2n3p4q5r-app-1.0"
    static let lib = "1111111111111111111111111111111a-libfoo-2.3"
    static let data = "2222222222222222222222222222222b-data"
    static let big = "3333333333333333333333333333333c-big.bin"
    static let other = "4444444444444444444444444444444d-unrelated"
    static let missingHash = "5555555555555555555555555555555f"

    init() throws {
        directory = try TemporaryDirectory()
        let files = FileManager.default
        try files.createDirectory(atPath: store, withIntermediateDirectories: true)
        try write("\(Self.app)/bin/app", "#!\(store)/\(Self.lib)/bin/sh\nexec \(store)/\(Self.app)/libexec/real \"$@\"\n"
            + "# \(store)/\(Self.missingHash)-gone is not in the store\n", mode: 0o555)
        try files.createSymbolicLink(atPath: "\(store)/\(Self.app)/share", withDestinationPath: "\(store)/\(Self.data)/share")
        try write("\(Self.data)/share/file", "plain data\n", mode: 0o444)
        try write("\(Self.other)/file", "\(store)/\(Self.app)-and-more\n", mode: 0o444)
        try write("\(Self.lib).lock", "", mode: 0o600)

        // 5 MiB of binary noise with a reference to `big` straddling the
        // first 1 MiB read boundary and one to `app` near the end.
        let chunk = 1 << 20
        var bytes = [UInt8](repeating: 0xA5, count: 5 * chunk)
        for index in stride(from: 0, to: bytes.count, by: 97) { bytes[index] = UInt8(ascii: "/") }
        let toBig = Array("\(store)/\(Self.big)".utf8)
        bytes.replaceSubrange(chunk - 20..<chunk - 20 + toBig.count, with: toBig)
        let toApp = Array("\(store)/\(Self.app)/bin/app\0".utf8)
        bytes.replaceSubrange(bytes.count - 100..<bytes.count - 100 + toApp.count, with: toApp)
        try files.createDirectory(atPath: "\(store)/\(Self.lib)/lib", withIntermediateDirectories: true)
        try Data(bytes).write(to: URL(fileURLWithPath: "\(store)/\(Self.lib)/lib/libfoo.so"))
        chmod("\(store)/\(Self.lib)/lib/libfoo.so", 0o555)
        try write(Self.big, "big\n", mode: 0o444)

        // Store objects are read-only, directories included.
        for name in [Self.app, Self.lib, Self.data, Self.other] {
            for directory in ["", "/bin", "/lib", "/share"] where files.fileExists(atPath: store + "/" + name + directory) {
                chmod(store + "/" + name + directory, 0o555)
            }
        }
    }

    func write(_ relative: String, _ text: String, mode: mode_t) throws {
        try directory.write("store/" + relative, text, mode: mode)
    }

    func prepare(_ storePath: String, closure: Bool = true, storeDir: String? = nil) async throws(DerivationError) -> PreparedLayer {
        let layer = DerivationLayer(storePath: storePath, storeDir: storeDir ?? store, closure: closure)
        let fixture = try! BuildFixture()
        var context = fixture.strategyContext(layer: "nix")
        context.layer.strategy = .derivation(layer)
        return try await DerivationStrategy(layer).prepare(context)
    }

    /// Image path of a store path (or a file in one).
    func image(_ relative: String) -> String {
        String((store + "/" + relative).dropFirst())
    }
}

/// `path mode kind` lines of a tree, for exact comparison.
func describe(_ tree: LayerTree) throws -> [String] {
    try tree.sortedEntries().map { entry in
        let kind: String
        switch entry.kind {
        case .directory: kind = "dir"
        case .regular(let content): kind = "file \(content.size)"
        case .symlink(let target): kind = "symlink \(target)"
        case .hardlink(let target): kind = "hardlink \(target)"
        }
        return "\(entry.path) \(String(entry.mode, radix: 8)) \(entry.uid):\(entry.gid) \(kind)"
    }
}

@Suite struct DerivationStrategyTests {
    @Test func includesTheClosureAndNothingElse() async throws {
        let fake = try FakeStore()
        let prepared = try await fake.prepare(fake.store + "/" + FakeStore.app)
        let lines = try describe(prepared.tree)
        let store = String(fake.store.dropFirst())
        let storeLines = lines.filter { $0.hasPrefix(store + "/") }
        #expect(storeLines == [
            "\(fake.image(FakeStore.app)) 555 0:0 dir",
            "\(fake.image(FakeStore.app))/bin 555 0:0 dir",
            "\(fake.image(FakeStore.app))/bin/app 555 0:0 file \(try size(fake.store + "/" + FakeStore.app + "/bin/app"))",
            "\(fake.image(FakeStore.app))/share 777 0:0 symlink \(fake.store)/\(FakeStore.data)/share",
            "\(fake.image(FakeStore.lib)) 555 0:0 dir",
            "\(fake.image(FakeStore.lib))/lib 555 0:0 dir",
            "\(fake.image(FakeStore.lib))/lib/libfoo.so 555 0:0 file 5242880",
            "\(fake.image(FakeStore.data)) 555 0:0 dir",
            "\(fake.image(FakeStore.data))/share 555 0:0 dir",
            "\(fake.image(FakeStore.data))/share/file 444 0:0 file 11",
            "\(fake.image(FakeStore.big)) 444 0:0 file 4",
        ].sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
        // The store directory and its ancestors are plain 0755 directories.
        let components = store.split(separator: "/")
        let ancestors = components.indices.map { components[...$0].joined(separator: "/") + " 755 0:0 dir" }
        #expect(lines.filter { !$0.hasPrefix(store + "/") } == ancestors)
        #expect(prepared.notes == ["4 store paths"])
    }

    @Test func closureFalseIncludesOnlyThePath() async throws {
        let fake = try FakeStore()
        let prepared = try await fake.prepare(fake.store + "/" + FakeStore.app, closure: false)
        let lines = try describe(prepared.tree).filter { $0.hasPrefix(fake.image("")) }
        #expect(lines.count == 4)
        #expect(lines.allSatisfy { $0.hasPrefix(fake.image(FakeStore.app)) })
        #expect(prepared.notes == ["1 store path"])
    }

    @Test func aSingleFileStorePath() async throws {
        let fake = try FakeStore()
        let prepared = try await fake.prepare(fake.store + "/" + FakeStore.big + "/")
        #expect(try describe(prepared.tree).last == "\(fake.image(FakeStore.big)) 444 0:0 file 4")
    }

    @Test func theResultDoesNotDependOnWhereTheWalkStarts() async throws {
        let fake = try FakeStore()
        // lib and app reference each other: the closure of either is the same set.
        let fromApp = try describe(await fake.prepare(fake.store + "/" + FakeStore.app).tree)
        let fromLib = try describe(await fake.prepare(fake.store + "/" + FakeStore.lib).tree)
        #expect(fromApp == fromLib)
    }

    @Test func errors() async throws {
        let fake = try FakeStore()
        let store = fake.store
        let cases: [(DerivationLayer, DerivationError.Reason, String)] = [
            (DerivationLayer(storePath: "/x/\(FakeStore.app)", storeDir: "relative/store", closure: true),
             .storeDirectoryNotAbsolute("relative/store"),
             "store_dir \"relative/store\" must be an absolute path"),
            (DerivationLayer(storePath: "/elsewhere/\(FakeStore.app)", storeDir: store, closure: true),
             .outsideStore(path: "/elsewhere/\(FakeStore.app)", storeDirectory: store),
             "store_path /elsewhere/\(FakeStore.app) is not directly inside the store directory \(store)"),
            (DerivationLayer(storePath: "\(store)/\(FakeStore.app)/bin/app", storeDir: store, closure: true),
             .outsideStore(path: "\(store)/\(FakeStore.app)/bin/app", storeDirectory: store),
             "store_path \(store)/\(FakeStore.app)/bin/app is not directly inside the store directory \(store)"),
            (DerivationLayer(storePath: "\(store)/hello", storeDir: store, closure: true),
             .invalidName("\(store)/hello"),
             "store_path \(store)/hello is not named <hash>-<name> (32 characters of 0123456789abcdfghijklmnpqrsvwxyz, a dash, then a name)"),
            (DerivationLayer(storePath: "\(store)/eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee-hello", storeDir: store, closure: true),
             .invalidName("\(store)/eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee-hello"),
             "store_path \(store)/eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee-hello is not named <hash>-<name> (32 characters of 0123456789abcdfghijklmnpqrsvwxyz, a dash, then a name)"),
            (DerivationLayer(storePath: "\(store)/\(FakeStore.missingHash)-gone", storeDir: store, closure: true),
             .missing("\(store)/\(FakeStore.missingHash)-gone"),
             "store path \(store)/\(FakeStore.missingHash)-gone does not exist"),
        ]
        for (layer, reason, message) in cases {
            await #expect(throws: DerivationError(layer: "nix", reason: reason)) {
                _ = try await fake.prepare(layer.storePath, closure: layer.closure, storeDir: layer.storeDir)
            }
            #expect(DerivationError(layer: "nix", reason: reason).description == "layer \"nix\": " + message)
        }
    }

    @Test func specialFilesAreRefused() async throws {
        let fake = try FakeStore()
        let name = "6666666666666666666666666666666g-with-fifo"
        try FileManager.default.createDirectory(atPath: fake.store + "/" + name, withIntermediateDirectories: true)
        mkfifo(fake.store + "/" + name + "/pipe", 0o644)
        let error = DerivationError(layer: "nix", reason: .unsupportedFile(path: "\(fake.store)/\(name)/pipe", kind: "a FIFO"))
        await #expect(throws: error) { _ = try await fake.prepare(fake.store + "/" + name) }
        #expect(error.description
            == "layer \"nix\": \(fake.store)/\(name)/pipe is a FIFO; a layer may hold only files, directories, symlinks and hardlinks")
    }

    @Test func hardlinksInTheStoreBecomeFiles() async throws {
        let fake = try FakeStore()
        let name = "7777777777777777777777777777777h-linked"
        try fake.write("\(name)/a", "same\n", mode: 0o444)
        link("\(fake.store)/\(name)/a", "\(fake.store)/\(name)/b")
        let lines = try describe(await fake.prepare(fake.store + "/" + name).tree).filter { $0.hasPrefix(fake.image(name)) }
        #expect(lines == [
            "\(fake.image(name)) 755 0:0 dir",
            "\(fake.image(name))/a 444 0:0 file 5",
            "\(fake.image(name))/b 444 0:0 file 5",
        ])
    }

    @Test func storeNames() {
        #expect(NixStore.isStorePathName("0123456789abcdfghijklmnpqrsvwxyz-hello-2.12"))
        #expect(NixStore.isStorePathName("0123456789abcdfghijklmnpqrsvwxyz-a+b_c?d=e.f"))
        #expect(!NixStore.isStorePathName("0123456789abcdfghijklmnpqrsvwxyz-"))
        #expect(!NixStore.isStorePathName("0123456789abcdfghijklmnpqrsvwxyz-.hidden"))
        #expect(!NixStore.isStorePathName("0123456789abcdfghijklmnpqrsvwxyz-sp ace"))
        #expect(!NixStore.isStorePathName("0123456789abcdfghijklmnpqrsvwxy-short"))
        #expect(!NixStore.isStorePathName(".links"))
    }

    @Test func unreadableStoreDirectoryIsAnError() {
        #expect(throws: DerivationError(layer: "nix", reason: .fileSystem(
            operation: "list the store directory", path: "/nonexistent/store", message: "No such file or directory"))) {
            _ = try NixStore(directory: "/nonexistent/store", layer: "nix")
        }
        #expect(DerivationError(layer: "nix", reason: .fileSystem(operation: "read", path: "/x", message: "Permission denied")).description
            == "layer \"nix\": cannot read /x: Permission denied")
        #expect(DerivationError(layer: "nix", reason: .unreadable(.unreadableDirectory("/s/x", errno: EACCES))).description
            == "layer \"nix\": cannot read directory /s/x: Permission denied")
    }
}

func size(_ path: String) throws -> Int {
    (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? -1
}
