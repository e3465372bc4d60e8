import KilnCore
import YAML

extension PlanDecoder {
    /// `gzip: { engine: zlib|libdeflate, level: 1-9 }` (docs/layers.md):
    /// opt-in deflate settings for `compression: gzip`; absent, zlib at
    /// level 6 (SPEC §2). Either key may be left out.
    mutating func gzipSettings(_ fields: Fields, compression: Compression?) -> GzipSettings? {
        guard let node = fields.value("gzip") else { return .standard }
        guard let gzip = Fields(node, prefix: "", what: "\"gzip\"", allowed: ["engine", "level"], diagnostics: &diagnostics) else {
            return nil
        }
        if let compression, compression != .gzip {
            diagnostics.error(node.mark, "\"gzip\" sets the deflate engine and level of compression: gzip; this plan says compression: \(compression.rawValue)")
            return nil
        }
        var settings = GzipSettings.standard
        if let engine = gzip.value("engine") {
            guard let value = keyword(engine, "\"gzip.engine\"", GzipSettings.Engine.self) else { return nil }
            settings.engine = value
        }
        if let level = gzip.value("level") {
            guard let value = diagnostics.integer(level, "\"gzip.level\"", in: GzipSettings.levels) else { return nil }
            settings.level = value
        }
        return settings
    }
}
