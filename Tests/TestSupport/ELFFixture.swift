/// Hand-made ELF headers and WebAssembly binaries, byte by byte, for the
/// architecture check and the wasm layer tests (real binaries come from
/// the compilers, see the tests).
public enum ELFFixture {
    /// `e_machine` values the tests use (ELF gABI).
    public static let i386: UInt16 = 3, s390: UInt16 = 22, arm: UInt16 = 40, x86_64: UInt16 = 62, aarch64: UInt16 = 183, riscv: UInt16 = 243

    /// An ELF header — 52 bytes for `bits` 32, 64 for 64 — with the given
    /// fields, multi-byte ones in `bigEndian` order or little-endian,
    /// followed by `trailing` zero bytes.
    public static func header(
        bits: Int, bigEndian: Bool = false, type: UInt16 = 2, machine: UInt16, version: UInt8 = 1, fileVersion: UInt32 = 1,
        headerSize: UInt16? = nil, trailing: Int = 0
    ) -> [UInt8] {
        let size = bits == 32 ? 52 : 64
        var bytes = [UInt8](repeating: 0, count: size + trailing)
        bytes[0..<4] = [0x7F, 0x45, 0x4C, 0x46]
        bytes[4] = bits == 32 ? 1 : 2
        bytes[5] = bigEndian ? 2 : 1
        bytes[6] = version
        func put(_ value: UInt64, at offset: Int, width: Int) {
            for index in 0..<width {
                let shift = bigEndian ? 8 * (width - 1 - index) : 8 * index
                bytes[offset + index] = UInt8((value >> UInt64(shift)) & 0xFF)
            }
        }
        put(UInt64(type), at: 16, width: 2)
        put(UInt64(machine), at: 18, width: 2)
        put(UInt64(fileVersion), at: 20, width: 4)
        put(UInt64(headerSize ?? UInt16(size)), at: bits == 32 ? 40 : 52, width: 2)
        return bytes
    }

    /// The smallest valid WebAssembly module (`\0asm`, version 1) with one
    /// custom section named `name` holding `payload`, so tests can make
    /// distinct modules.
    public static func wasmModule(name: String = "kiln", payload: [UInt8] = []) -> [UInt8] {
        let nameBytes = Array(name.utf8)
        let body = [UInt8(nameBytes.count)] + nameBytes + payload
        precondition(nameBytes.count < 128 && body.count < 128, "one-byte LEB128 sizes only")
        return [0x00, 0x61, 0x73, 0x6D, 0x01, 0x00, 0x00, 0x00] + [0x00, UInt8(body.count)] + body
    }
}
