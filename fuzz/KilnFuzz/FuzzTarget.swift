import Archive
import Debian
import Foundation
import OCI
import Plan
import Registry

/// kiln's fuzz targets: each a parser of bytes kiln does not trust, run
/// through the module's public fuzzing entry point.
enum FuzzTarget: String, CaseIterable {
    case plan, lock, tar, decompress, deb822, deb, oci, registry

    /// Runs the target on one input.
    func run(_ bytes: [UInt8]) {
        switch self {
        case .plan: PlanFuzzing.plan(bytes)
        case .lock: PlanFuzzing.lockFile(bytes)
        case .tar: ArchiveFuzzing.tar(bytes)
        case .decompress: ArchiveFuzzing.decompress(bytes)
        case .deb822: DebianFuzzing.deb822(bytes)
        case .deb: DebianFuzzing.deb(bytes, scratch: FuzzTarget.scratch)
        case .oci: OCIFuzzing.documents(bytes)
        case .registry: RegistryFuzzing.responses(bytes)
        }
    }

    /// Where the `.deb` target writes its file: tmpfs when there is one.
    static let scratch = FileManager.default.isWritableFile(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()

    /// The target `KILN_FUZZ_TARGET` names (libFuzzer owns the command line).
    static var selected: FuzzTarget {
        let name = ProcessInfo.processInfo.environment["KILN_FUZZ_TARGET"] ?? ""
        guard let target = FuzzTarget(rawValue: name) else {
            FileHandle.standardError.write(Data("kiln-fuzz: set KILN_FUZZ_TARGET to one of \(allCases.map(\.rawValue).joined(separator: ", "))\n".utf8))
            exit(2)
        }
        return target
    }
}

#if FUZZING
/// libFuzzer's entry: one input of the selected target.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    guard let data else { return 0 }
    selectedTarget.run(Array(UnsafeBufferPointer(start: data, count: count)))
    return 0
}

/// Read once: the environment does not change during a campaign.
nonisolated(unsafe) let selectedTarget = FuzzTarget.selected

/// libFuzzer's driver, run from the executable's entry point (below).
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

/// SwiftPM links an executable target's `main` under the name
/// `<Target>_main` (so tests can link the target); with no `@main` here,
/// that entry point hands the command line to libFuzzer's driver.
@_cdecl("KilnFuzz_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var vector = argv
    return LLVMFuzzerRunDriver(&count, &vector, fuzzOneInput)
}
#else
/// Without the fuzzer: `kiln-fuzz TARGET FILE…` runs each file through the
/// target once (a crash reproduces; a regression stays fixed).
@main
struct Replay {
    static func main() {
        let arguments = CommandLine.arguments.dropFirst()
        guard let name = arguments.first, let target = FuzzTarget(rawValue: name) else {
            print("usage: kiln-fuzz TARGET FILE… (targets: \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")))")
            exit(2)
        }
        for file in arguments.dropFirst() {
            guard let data = FileManager.default.contents(atPath: file) else {
                print("kiln-fuzz: cannot read \(file)")
                exit(1)
            }
            target.run([UInt8](data))
        }
        print("kiln-fuzz \(name): \(arguments.count - 1) input\(arguments.count == 2 ? "" : "s") ran")
    }
}
#endif
