import Crypto
import Foundation
import KilnCore

/// Writes an ``SBOMModel`` as a CycloneDX 1.5 JSON document (canonical JSON).
///
/// The image is `metadata.component`; the base image and each layer are
/// top-level components, whose nested `components` are the packages and
/// store paths they hold, and each package's the files it ships (type
/// `file`, with SHA-1 and SHA-256). Containment is the nesting; the
/// `dependencies` say which components the image is made of. The serial
/// number is a name-based UUID of the manifest digest; the timestamp is
/// the plan's `created`.
enum CycloneDXDocument {
    static func encode(_ model: SBOMModel) throws(CanonicalJSONError) -> [UInt8] {
        try CanonicalJSONEncoder.serialize(document(model))
    }

    static func document(_ model: SBOMModel) -> JSONValue {
        var children: [String: [SBOMModel.Package]] = [:]
        for package in model.packages { if let parent = package.parent { children[parent, default: []].append(package) } }
        var files: [String: [SBOMModel.File]] = [:]
        for file in model.files { files[file.container, default: []].append(file) }

        func component(_ package: SBOMModel.Package, nested: Bool) -> JSONValue {
            var fields: [String: JSONValue] = [
                "bom-ref": .string(package.id),
                "type": .string(type(of: package.kind)),
                "name": .string(package.name),
                "version": .string(package.version),
                "supplier": .object(["name": .string(supplierName(package.supplier))]),
            ]
            if let sha256 = package.sha256 { fields["hashes"] = .array([hash("SHA-256", sha256)]) }
            if let purl = package.purl { fields["purl"] = .string(purl) }
            if let license = package.license { fields["licenses"] = .array([.object(["expression": .string(license)])]) }
            var description = package.comment ?? ""
            if let sourceInfo = package.sourceInfo { description += (description.isEmpty ? "" : " ") + "It was " + sourceInfo + "." }
            if !description.isEmpty { fields["description"] = .string(description) }
            // The SPDX actor too, so the document converts back whole.
            var properties: [JSONValue] = [property("kiln:kind", package.kind.rawValue), property("kiln:supplier", package.supplier)]
            if let location = package.downloadLocation {
                fields["externalReferences"] = .array([.object(["type": .string("distribution"), "url": .string(location)])])
            }
            if let sourceInfo = package.sourceInfo { properties.append(property("kiln:source", sourceInfo)) }
            fields["properties"] = .array(properties)
            guard nested else { return .object(fields) }
            let inner = (children[package.id] ?? []).map { component($0, nested: true) }
                + (files[package.id] ?? []).map(fileComponent)
            if !inner.isEmpty { fields["components"] = .array(inner) }
            return .object(fields)
        }

        let image = model.packages[0]
        var dependencies: [JSONValue] = []
        for package in model.packages {
            let parts = (children[package.id] ?? []).map(\.id)
            guard !parts.isEmpty else { continue }
            dependencies.append(.object(["ref": .string(package.id), "dependsOn": .array(parts.map(JSONValue.string))]))
        }
        return .object([
            "bomFormat": .string("CycloneDX"),
            "specVersion": .string("1.5"),
            "version": .integer(1),
            "serialNumber": .string("urn:uuid:" + uuid(of: model.manifestDigest)),
            "metadata": .object([
                "timestamp": .string(model.created.rfc3339),
                "tools": .object(["components": .array([.object([
                    "type": .string("application"), "name": .string("kiln"), "version": .string(Kiln.version),
                ])])]),
                "component": component(image, nested: false),
                "supplier": .object(["name": .string(supplierName(image.supplier))]),
            ]),
            "components": .array((children[image.id] ?? []).map { component($0, nested: true) } + (files[image.id] ?? []).map(fileComponent)),
            "dependencies": .array(dependencies),
        ])
    }

    private static func fileComponent(_ file: SBOMModel.File) -> JSONValue {
        .object([
            "bom-ref": .string(file.id),
            "type": .string("file"),
            "name": .string("/" + file.path),
            "hashes": .array([hash("SHA-1", file.sha1), hash("SHA-256", file.sha256)]),
            "description": .string(file.comment),
            "properties": .array([property("kiln:origin", file.origin.rawValue)]),
        ])
    }

    private static func type(of kind: SBOMModel.Package.Kind) -> String {
        switch kind {
        case .image, .base: "container"
        case .layer: "data"
        case .debian, .storePath: "library"
        }
    }

    private static func hash(_ algorithm: String, _ hex: String) -> JSONValue {
        .object(["alg": .string(algorithm), "content": .string(hex)])
    }

    private static func property(_ name: String, _ value: String) -> JSONValue {
        .object(["name": .string(name), "value": .string(value)])
    }

    /// The name in an SPDX actor (`Person: Name (email)` → `Name`).
    private static func supplierName(_ actor: String) -> String {
        var name = Substring(actor)
        for prefix in ["Person: ", "Organization: "] where name.hasPrefix(prefix) { name = name.dropFirst(prefix.count) }
        if let open = name.lastIndex(of: "("), name.hasSuffix(")") { name = name[..<open] }
        return name.trimmingCharacters(in: .whitespaces)
    }

    /// A name-based (version 5 layout) UUID of the manifest digest: the
    /// same image always gets the same serial number.
    static func uuid(of digest: ContentDigest) -> String {
        var bytes = Array(SHA256.hash(data: Array(("kiln sbom " + digest.description).utf8)).prefix(16))
        bytes[6] = (bytes[6] & 0x0f) | 0x50
        bytes[8] = (bytes[8] & 0x3f) | 0x80
        let hex = Hex.string(bytes)
        let parts = [hex.prefix(8), hex.dropFirst(8).prefix(4), hex.dropFirst(12).prefix(4), hex.dropFirst(16).prefix(4), hex.dropFirst(20)]
        return parts.joined(separator: "-")
    }
}
