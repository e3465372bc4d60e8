public import Archive
public import KilnCore
public import Plan

/// The ELF check of SPEC §1.5: every ELF executable and shared object a
/// plan layer puts in the image must be built for the image's
/// architecture — the same `e_machine`, class (32/64-bit) and byte order,
/// read from its header as ocipkg reads it (``ELFHeader``).
///
/// The layer writer records each layer's ELF files while it streams them
/// (``ELFFiles``: per kind, the first path and a count), and the cache keeps
/// the record with the blob, so a cached layer is checked as a fresh one.
/// Layers with `check_arch: false` are not checked; base layers are not
/// either (they are not the plan's, and a base picked by platform is the
/// base's publisher's business). Platforms kiln knows no ELF machine for
/// (`wasip1/wasm`) have nothing to check.
public enum ArchitectureCheck {
    /// The ELF kind an architecture's programs have, by GOARCH name, or
    /// nil for one without an ELF machine (`wasm`).
    public static func expectedKind(for platform: Platform) -> ELFKind? {
        let (machine, wordSize, byteOrder): (UInt16, ELFHeader.WordSize, ELFHeader.ByteOrder)
        switch platform.architecture {
        case "amd64": (machine, wordSize, byteOrder) = (62, .bits64, .little)
        case "arm64": (machine, wordSize, byteOrder) = (183, .bits64, .little)
        case "arm": (machine, wordSize, byteOrder) = (40, .bits32, .little)
        case "386": (machine, wordSize, byteOrder) = (3, .bits32, .little)
        case "ppc64le": (machine, wordSize, byteOrder) = (21, .bits64, .little)
        case "ppc64": (machine, wordSize, byteOrder) = (21, .bits64, .big)
        case "s390x": (machine, wordSize, byteOrder) = (22, .bits64, .big)
        case "riscv64": (machine, wordSize, byteOrder) = (243, .bits64, .little)
        case "loong64": (machine, wordSize, byteOrder) = (258, .bits64, .little)
        case "mips": (machine, wordSize, byteOrder) = (8, .bits32, .big)
        case "mipsle": (machine, wordSize, byteOrder) = (8, .bits32, .little)
        case "mips64": (machine, wordSize, byteOrder) = (8, .bits64, .big)
        case "mips64le": (machine, wordSize, byteOrder) = (8, .bits64, .little)
        default: return nil
        }
        return ELFKind(machine: machine, wordSize: wordSize, byteOrder: byteOrder)
    }

    /// Fails on the first plan layer (in plan order) holding an ELF file
    /// of another kind than `platform`'s.
    /// - Parameter layers: the plan's layers, each with the ELF files its
    ///   blob holds (``LayerBlob/elfFiles``, fresh or from the cache).
    /// - Throws: ``ImageBuildError/layer(name:_:)`` with a
    ///   ``LayerPlanError`` at the layer's plan location, naming the file's
    ///   image path, its ELF machine and the platform.
    public static func check(_ layers: [(spec: LayerSpec, elfFiles: ELFFiles)], platform: Platform) throws(ImageBuildError) {
        guard let expected = expectedKind(for: platform) else { return }
        for (spec, elfFiles) in layers where spec.checkArch {
            guard let wrong = elfFiles.groups.first(where: { $0.kind != expected }) else { continue }
            let others = elfFiles.groups.filter { $0.kind != expected }.reduce(0) { $0 + $1.count } - 1
            let more = others == 0 ? "" : " (and \(others) more ELF file\(others == 1 ? "" : "s") not for \(platform))"
            throw .layer(name: spec.name, LayerPlanError(
                layer: spec.name, location: spec.location,
                message: "\(wrong.path) is an ELF file for \(wrong.kind), but the image's platform \(platform) runs \(expected)\(more); "
                    + "build it for \(platform.architecture), or set check_arch: false on the layer"))
        }
    }
}
