/// How the YAML 1.2 core schema types an unquoted scalar, for fields kiln
/// reads as text but other YAML tools (editors, the JSON Schema) would not.
enum PlainScalar {
    /// Whether the core schema reads `text`, unquoted, as a boolean, an
    /// integer or a float rather than a string.
    static func isCoreSchemaNonString(_ text: String) -> Bool {
        if ["true", "True", "TRUE", "false", "False", "FALSE", ".inf", ".Inf", ".INF", "+.inf", "-.inf", ".nan", ".NaN", ".NAN"].contains(text) {
            return true
        }
        let bytes = Array(text.utf8)
        func all(_ slice: ArraySlice<UInt8>, _ allowed: (UInt8) -> Bool) -> Bool { !slice.isEmpty && slice.allSatisfy(allowed) }
        let digit: (UInt8) -> Bool = { (0x30...0x39).contains($0) }
        if bytes.count > 2, bytes[0] == UInt8(ascii: "0"), bytes[1] == UInt8(ascii: "o") { return all(bytes[2...]) { (0x30...0x37).contains($0) } }
        if bytes.count > 2, bytes[0] == UInt8(ascii: "0"), bytes[1] == UInt8(ascii: "x") {
            return all(bytes[2...]) { digit($0) || (0x61...0x66).contains($0) || (0x41...0x46).contains($0) }
        }
        // [-+]? ( . digits | digits ( . digits? )? ) ( [eE] [-+]? digits )?
        var i = 0
        if i < bytes.count, bytes[i] == UInt8(ascii: "-") || bytes[i] == UInt8(ascii: "+") { i += 1 }
        let intStart = i
        while i < bytes.count, digit(bytes[i]) { i += 1 }
        var digits = i - intStart
        if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
            i += 1
            let fractionStart = i
            while i < bytes.count, digit(bytes[i]) { i += 1 }
            digits += i - fractionStart
        }
        guard digits > 0 else { return false }
        if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
            i += 1
            if i < bytes.count, bytes[i] == UInt8(ascii: "-") || bytes[i] == UInt8(ascii: "+") { i += 1 }
            let exponentStart = i
            while i < bytes.count, digit(bytes[i]) { i += 1 }
            guard i > exponentStart else { return false }
        }
        return i == bytes.count
    }
}
