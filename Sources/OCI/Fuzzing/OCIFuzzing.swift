/// Entry points of the fuzz targets (`fuzz/`, `scripts/fuzz`): untrusted
/// bytes parsed exactly as kiln parses them, the result thrown away. Errors
/// are expected; a crash, a hang or a sanitizer report is the bug.
public enum OCIFuzzing {
    /// A layout's JSON documents: `index.json`, a manifest, a config.
    public static func documents(_ bytes: [UInt8]) {
        let _: ImageIndex? = try? decode(bytes, path: "fuzz", what: "image index")
        let _: ImageManifest? = try? decode(bytes, path: "fuzz", what: "image manifest")
        let _: ImageConfig? = try? decode(bytes, path: "fuzz", what: "image config")
    }
}
