import Crypto
import KilnCore

/// Writes an ``SBOMModel`` as an SPDX 2.3 JSON document (canonical JSON).
///
/// What the validators require is here: every file with its SHA-1 and
/// SHA-256, a supplier and a version on every package, a package
/// verification code on each package that contains files, a
/// `DESCRIBES` relationship to the image, and `CONTAINS` relationships
/// from each package to what it holds. The namespace and the creation
/// time come from the image (its manifest digest, the plan's `created`).
enum SPDXDocument {
    static func encode(_ model: SBOMModel) throws(CanonicalJSONError) -> [UInt8] {
        try CanonicalJSONEncoder.serialize(document(model))
    }

    static func document(_ model: SBOMModel) -> JSONValue {
        var contained: [String: [SBOMModel.File]] = [:]
        for file in model.files { contained[file.container, default: []].append(file) }
        var relationships: [JSONValue] = [relationship("SPDXRef-DOCUMENT", "DESCRIBES", model.packages[0].id)]
        for package in model.packages {
            if let parent = package.parent { relationships.append(relationship(parent, "CONTAINS", package.id)) }
        }
        for file in model.files { relationships.append(relationship(file.container, "CONTAINS", file.id)) }

        let packages = model.packages.map { package -> JSONValue in
            var fields: [String: JSONValue] = [
                "SPDXID": .string(package.id),
                "name": .string(package.name),
                "versionInfo": .string(package.version),
                "supplier": .string(package.supplier),
                "downloadLocation": .string(package.downloadLocation ?? "NOASSERTION"),
                "licenseConcluded": .string("NOASSERTION"),
                "licenseDeclared": .string(package.license ?? "NOASSERTION"),
                "copyrightText": .string("NOASSERTION"),
            ]
            if let files = contained[package.id], !files.isEmpty {
                fields["filesAnalyzed"] = .bool(true)
                // SPDX 2.3 §7.9: SHA-1 of the sorted, concatenated SHA-1s.
                let joined = files.map(\.sha1).sorted().joined()
                fields["packageVerificationCode"] = .object([
                    "packageVerificationCodeValue": .string(Hex.string(Insecure.SHA1.hash(data: Array(joined.utf8)))),
                ])
            } else {
                fields["filesAnalyzed"] = .bool(false)
            }
            if let sha256 = package.sha256 {
                fields["checksums"] = .array([.object(["algorithm": .string("SHA256"), "checksumValue": .string(sha256)])])
            }
            if let purl = package.purl {
                fields["externalRefs"] = .array([.object([
                    "referenceCategory": .string("PACKAGE-MANAGER"), "referenceType": .string("purl"), "referenceLocator": .string(purl),
                ])])
            }
            if package.kind == .image || package.kind == .base { fields["primaryPackagePurpose"] = .string("CONTAINER") }
            if package.kind == .debian || package.kind == .storePath { fields["primaryPackagePurpose"] = .string("LIBRARY") }
            if let sourceInfo = package.sourceInfo { fields["sourceInfo"] = .string(sourceInfo) }
            if let comment = package.comment { fields["comment"] = .string(comment) }
            return .object(fields)
        }
        let files = model.files.map { file -> JSONValue in
            .object([
                "SPDXID": .string(file.id),
                "fileName": .string("./" + file.path),
                "checksums": .array([
                    .object(["algorithm": .string("SHA1"), "checksumValue": .string(file.sha1)]),
                    .object(["algorithm": .string("SHA256"), "checksumValue": .string(file.sha256)]),
                ]),
                "comment": .string(file.comment),
            ])
        }
        var document: [String: JSONValue] = [
            "spdxVersion": .string("SPDX-2.3"),
            "dataLicense": .string("CC0-1.0"),
            "SPDXID": .string("SPDXRef-DOCUMENT"),
            "name": .string(model.documentName),
            "documentNamespace": .string(namespace(model)),
            "creationInfo": .object([
                "created": .string(model.created.rfc3339),
                "creators": .array([.string("Tool: kiln-\(Kiln.version)"), .string(model.packages[0].supplier)]),
            ]),
            "packages": .array(packages),
            "files": .array(files),
            "relationships": .array(relationships),
        ]
        if !model.licenseReferences.isEmpty {
            document["hasExtractedLicensingInfos"] = .array(model.licenseReferences.keys.sorted().map { id in
                .object(["licenseId": .string(id), "extractedText": .string(model.licenseReferences[id]!), "name": .string(String(id.dropFirst(11)))])
            })
        }
        return .object(document)
    }

    /// Unique per image and the same for the same image: derived from the
    /// manifest digest, in the form SPDX suggests for documents without a
    /// home of their own.
    static func namespace(_ model: SBOMModel) -> String {
        "https://spdx.org/spdxdocs/" + SPDXDocument.pathSafe(model.documentName) + "-" + model.manifestDigest.hex
    }

    static func pathSafe(_ text: String) -> String {
        String(text.map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "-" || $0 == "_") ? $0 : "-" })
    }

    private static func relationship(_ from: String, _ type: String, _ to: String) -> JSONValue {
        .object(["spdxElementId": .string(from), "relationshipType": .string(type), "relatedSpdxElement": .string(to)])
    }
}
