/// The names OCI layers use to remove what lower layers have (image-spec
/// `layer.md`, "Whiteouts"): the files strategy writes them, the image
/// file-system reader applies them.
public enum Whiteout {
    /// `.wh.NAME` removes NAME from the lower layers.
    public static let prefix = ".wh."
    /// `.wh..wh..opq` in a directory hides every lower entry of it.
    public static let opaqueMarker = ".wh..wh..opq"
}
