/// Human byte counts in binary units: `512 B`, `1.5 KiB`, `12.3 MiB`, one
/// decimal digit (rounded half up), as the build, cache and diff output
/// show sizes.
public enum ByteCount {
    private static let units = ["B", "KiB", "MiB", "GiB", "TiB"]

    /// `bytes` in the largest unit it reaches (`-` before a negative count).
    public static func format(_ bytes: Int64) -> String {
        let magnitude = bytes.magnitude
        var unit = 0
        var scale: UInt64 = 1
        while magnitude >= scale * 1024, unit < units.count - 1 {
            scale *= 1024
            unit += 1
        }
        let sign = bytes < 0 ? "-" : ""
        guard unit > 0 else { return sign + "\(magnitude) B" }
        let tenths = (magnitude * 10 + scale / 2) / scale
        return sign + "\(tenths / 10).\(tenths % 10) " + units[unit]
    }

    /// A change in size, signed: `+7.6 MiB`, `-512 B`, `±0 B`.
    public static func delta(_ bytes: Int64) -> String {
        bytes == 0 ? "±0 B" : bytes > 0 ? "+" + format(bytes) : format(bytes)
    }
}
