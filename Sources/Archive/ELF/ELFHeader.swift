/// The platform fields of an ELF file header, read as ocipkg reads them:
/// the identification bytes (magic, `EI_CLASS`, `EI_DATA`, `EI_VERSION`),
/// then `e_type`, `e_machine`, `e_version` and `e_ehsize` in the file's
/// byte order.
///
/// Only a header that is valid in every field read counts as ELF: the
/// class and data in range, both versions 1, a header size at least the
/// class's (52 or 64 bytes) and bytes enough to hold it. Anything else —
/// a text file that starts with `\x7fELF`, a truncated header — is simply
/// not ELF (``init(_:)`` returns nil), never an error.
public struct ELFHeader: Hashable, Sendable {
    /// How many leading bytes of a file ``init(_:)`` needs at most.
    public static let maximumSize = 64

    /// `EI_CLASS`: the word size.
    public enum WordSize: UInt8, Hashable, Sendable, Codable {
        case bits32 = 1
        case bits64 = 2

        /// 32 or 64.
        public var bits: Int { self == .bits32 ? 32 : 64 }
        /// The size of the ELF header of this class.
        var headerSize: Int { self == .bits32 ? 52 : 64 }
    }

    /// `EI_DATA`: the byte order.
    public enum ByteOrder: UInt8, Hashable, Sendable, Codable {
        case little = 1
        case big = 2

        /// `LE` or `BE`.
        public var abbreviation: String { self == .little ? "LE" : "BE" }
    }

    /// `e_type` values (only executables and shared objects are checked).
    public static let typeExecutable: UInt16 = 2
    /// `ET_DYN`: shared objects and position-independent executables.
    public static let typeSharedObject: UInt16 = 3

    public var wordSize: WordSize
    public var byteOrder: ByteOrder
    /// `e_type`.
    public var type: UInt16
    /// `e_machine`.
    public var machine: UInt16

    /// The header in the first bytes of a file, or nil when they are not a
    /// valid ELF header.
    public init?(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count >= 16, bytes[0] == 0x7F, bytes[1] == 0x45, bytes[2] == 0x4C, bytes[3] == 0x46,
              let wordSize = WordSize(rawValue: bytes[4]), let byteOrder = ByteOrder(rawValue: bytes[5]), bytes[6] == 1,
              bytes.count >= wordSize.headerSize
        else { return nil }
        func half(_ offset: Int) -> UInt16 {
            let a = UInt16(bytes[offset]), b = UInt16(bytes[offset + 1])
            return byteOrder == .little ? a | b << 8 : a << 8 | b
        }
        func word(_ offset: Int) -> UInt32 {
            let value = (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[offset + $1]) << (8 * $1) }
            return byteOrder == .little ? value : value.byteSwapped
        }
        // e_ehsize follows e_entry, e_phoff, e_shoff (word-sized) and e_flags.
        let headerSizeOffset = wordSize == .bits32 ? 40 : 52
        guard word(20) == 1, Int(half(headerSizeOffset)) >= wordSize.headerSize else { return nil }
        self.wordSize = wordSize
        self.byteOrder = byteOrder
        type = half(16)
        machine = half(18)
    }

    /// A header with the given fields (for expectations and tests).
    public init(wordSize: WordSize, byteOrder: ByteOrder, type: UInt16 = ELFHeader.typeExecutable, machine: UInt16) {
        self.wordSize = wordSize
        self.byteOrder = byteOrder
        self.type = type
        self.machine = machine
    }

    /// Whether the file is an executable or a shared object (not an object
    /// file or a core dump), the kinds whose architecture must match.
    public var isLoadable: Bool { type == Self.typeExecutable || type == Self.typeSharedObject }

    /// The machine, class and byte order: what must match an architecture.
    public var kind: ELFKind { ELFKind(machine: machine, wordSize: wordSize, byteOrder: byteOrder) }
}

/// An ELF file's machine, word size and byte order.
public struct ELFKind: Hashable, Sendable, Codable, Comparable, CustomStringConvertible {
    /// `e_machine`.
    public var machine: UInt16
    public var wordSize: ELFHeader.WordSize
    public var byteOrder: ELFHeader.ByteOrder

    public init(machine: UInt16, wordSize: ELFHeader.WordSize, byteOrder: ELFHeader.ByteOrder) {
        self.machine = machine
        self.wordSize = wordSize
        self.byteOrder = byteOrder
    }

    enum CodingKeys: String, CodingKey {
        case machine
        case wordSize = "class"
        case byteOrder = "data"
    }

    public static func < (lhs: ELFKind, rhs: ELFKind) -> Bool {
        (lhs.machine, lhs.wordSize.rawValue, lhs.byteOrder.rawValue) < (rhs.machine, rhs.wordSize.rawValue, rhs.byteOrder.rawValue)
    }

    /// The machine's name as binutils' `readelf -h` prints it (`x86-64`,
    /// `AArch64`), or `machine 0x…` for one kiln does not name.
    public var machineName: String {
        if let name = Self.machineNames[machine] { return name }
        let hex = String(machine, radix: 16)
        return "machine 0x" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }

    /// `x86-64 (64-bit LE)`.
    public var description: String { "\(machineName) (\(wordSize.bits)-bit \(byteOrder.abbreviation))" }

    /// `e_machine` values kiln names (from the ELF gABI and `elf.h`).
    public static let machineNames: [UInt16: String] = [
        2: "SPARC", 3: "Intel 80386", 4: "MC68000", 8: "MIPS", 18: "SPARC32+", 20: "PowerPC", 21: "PowerPC64",
        22: "IBM S/390", 40: "ARM", 42: "Renesas SH", 43: "SPARC v9", 50: "Intel IA-64", 62: "x86-64", 183: "AArch64",
        243: "RISC-V", 258: "LoongArch",
    ]
}

/// The ELF executables and shared objects of one layer, grouped by
/// ``ELFKind``: for each kind, the first file in stream order and how many
/// files there are — enough to name a culprit, small enough for a cache
/// entry whatever the layer's size.
public struct ELFFiles: Hashable, Sendable, Codable {
    /// One kind of ELF file in the layer.
    public struct Group: Hashable, Sendable, Codable {
        public var kind: ELFKind
        /// The first such file in stream order, as an absolute image path.
        public var path: String
        /// How many such files the layer holds.
        public var count: Int

        public init(kind: ELFKind, path: String, count: Int) {
            self.kind = kind
            self.path = path
            self.count = count
        }
    }

    /// Sorted by kind.
    public private(set) var groups: [Group] = []

    public init() {}

    /// Records the file at `path` (absolute image path) if `bytes`, its
    /// first bytes, are the header of an ELF executable or shared object.
    public mutating func record(path: @autoclosure () -> String, firstBytes bytes: UnsafeRawBufferPointer) {
        // The magic alone decides for nearly every file, without a call.
        guard bytes.count >= 4, bytes[0] == 0x7F, bytes[1] == 0x45, let header = ELFHeader(bytes), header.isLoadable else { return }
        let kind = header.kind
        if let index = groups.firstIndex(where: { $0.kind == kind }) {
            groups[index].count += 1
        } else {
            groups.append(Group(kind: kind, path: path(), count: 1))
            groups.sort { $0.kind < $1.kind }
        }
    }

    /// No ELF executable or shared object.
    public var isEmpty: Bool { groups.isEmpty }
}
