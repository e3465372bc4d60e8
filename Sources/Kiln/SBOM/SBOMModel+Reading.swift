import Foundation
import KilnCore
import Plan

extension SBOMModel {
    /// The model of a document kiln wrote (SPDX or CycloneDX), so an
    /// attached SBOM can be given in the other format without losing what
    /// the build knew of each file's origin; nil for a document kiln did
    /// not write (it is then computed from the layers instead).
    init?(reading bytes: [UInt8], format: SBOMFormat) {
        guard let document = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else { return nil }
        switch format {
        case .spdx: self.init(spdx: document)
        case .cyclonedx: self.init(cycloneDX: document)
        }
    }

    private init?(spdx document: [String: Any]) {
        guard document["spdxVersion"] as? String == "SPDX-2.3", let name = document["name"] as? String,
              let creation = document["creationInfo"] as? [String: Any], let created = (creation["created"] as? String).flatMap(Self.timestamp),
              let rawPackages = document["packages"] as? [[String: Any]], let rawFiles = document["files"] as? [[String: Any]],
              let relationships = document["relationships"] as? [[String: String]] else { return nil }
        var parents: [String: String] = [:]
        for relationship in relationships where relationship["relationshipType"] == "CONTAINS" {
            if let from = relationship["spdxElementId"], let to = relationship["relatedSpdxElement"] { parents[to] = from }
        }
        var packages: [Package] = []
        for raw in rawPackages {
            guard let id = raw["SPDXID"] as? String, let kind = Self.kind(ofID: id), let packageName = raw["name"] as? String,
                  let version = raw["versionInfo"] as? String, let supplier = raw["supplier"] as? String else { return nil }
            let sha256 = (raw["checksums"] as? [[String: String]])?.first { $0["algorithm"] == "SHA256" }?["checksumValue"]
            let purl = (raw["externalRefs"] as? [[String: String]])?.first { $0["referenceType"] == "purl" }?["referenceLocator"]
            packages.append(Package(
                id: id, kind: kind, name: packageName, version: version, supplier: supplier, purl: purl, sha256: sha256,
                downloadLocation: Self.assertion(raw["downloadLocation"]), license: Self.assertion(raw["licenseDeclared"]),
                sourceInfo: raw["sourceInfo"] as? String, comment: raw["comment"] as? String, parent: parents[id]))
        }
        var files: [File] = []
        for raw in rawFiles {
            guard let id = raw["SPDXID"] as? String, let fileName = raw["fileName"] as? String, fileName.hasPrefix("./"),
                  let sums = raw["checksums"] as? [[String: String]], let container = parents[id] else { return nil }
            let sum = { (algorithm: String) in sums.first { $0["algorithm"] == algorithm }?["checksumValue"] }
            guard let sha1 = sum("SHA1"), let sha256 = sum("SHA256") else { return nil }
            let comment = raw["comment"] as? String ?? ""
            files.append(File(
                id: id, path: String(fileName.dropFirst(2)), sha1: sha1, sha256: sha256, size: 0, container: container,
                origin: Self.origin(ofComment: comment), comment: comment))
        }
        var references: [String: String] = [:]
        for info in document["hasExtractedLicensingInfos"] as? [[String: String]] ?? [] {
            if let id = info["licenseId"], let text = info["extractedText"] { references[id] = text }
        }
        guard packages.first?.kind == .image, let digest = packages[0].sha256.flatMap({ try? ContentDigest(parsing: "sha256:" + $0) }) else { return nil }
        self.init(packages: packages, files: files, licenseReferences: references, documentName: name, manifestDigest: digest, created: created)
    }

    private init?(cycloneDX document: [String: Any]) {
        guard document["bomFormat"] as? String == "CycloneDX", let metadata = document["metadata"] as? [String: Any],
              let created = (metadata["timestamp"] as? String).flatMap(Self.timestamp), let image = metadata["component"] as? [String: Any],
              let imagePackage = Self.package(image, parent: nil), imagePackage.kind == .image,
              let digest = imagePackage.sha256.flatMap({ try? ContentDigest(parsing: "sha256:" + $0) }) else { return nil }
        var packages = [imagePackage]
        var files: [File] = []
        var failed = false
        func walk(_ components: [[String: Any]], parent: String) {
            for component in components {
                if component["type"] as? String == "file" {
                    let hashes = component["hashes"] as? [[String: String]] ?? []
                    let sum = { (algorithm: String) in hashes.first { $0["alg"] == algorithm }?["content"] }
                    let origin = (component["properties"] as? [[String: String]])?.first { $0["name"] == "kiln:origin" }?["value"]
                    guard let id = component["bom-ref"] as? String, let path = component["name"] as? String, let sha1 = sum("SHA-1"),
                          let sha256 = sum("SHA-256"), let kind = origin.flatMap(SBOMOriginKind.init(rawValue:)) else {
                        failed = true
                        return
                    }
                    files.append(File(
                        id: id, path: String(path.drop { $0 == "/" }), sha1: sha1, sha256: sha256, size: 0, container: parent,
                        origin: kind, comment: component["description"] as? String ?? ""))
                } else {
                    guard let package = Self.package(component, parent: parent) else {
                        failed = true
                        return
                    }
                    packages.append(package)
                    walk(component["components"] as? [[String: Any]] ?? [], parent: package.id)
                }
            }
        }
        walk(document["components"] as? [[String: Any]] ?? [], parent: imagePackage.id)
        guard !failed else { return nil }
        files.sort { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }
        // CycloneDX carries no license texts: a LicenseRef keeps its name.
        var references: [String: String] = [:]
        for package in packages {
            for word in (package.license ?? "").split(separator: " ") where word.hasPrefix("LicenseRef-") {
                let id = String(word.trimmingCharacters(in: CharacterSet(charactersIn: "()")))
                references[id] = "The license named \"\(id.dropFirst(11))\" in the package's debian/copyright."
            }
        }
        let name = imagePackage.name + ":" + imagePackage.version
        self.init(packages: packages, files: files, licenseReferences: references, documentName: name, manifestDigest: digest, created: created)
    }

    /// A CycloneDX component kiln wrote, as a package.
    private static func package(_ component: [String: Any], parent: String?) -> Package? {
        let properties = component["properties"] as? [[String: String]] ?? []
        func property(_ name: String) -> String? { properties.first { $0["name"] == name }?["value"] }
        guard let id = component["bom-ref"] as? String, let kind = property("kiln:kind").flatMap(Package.Kind.init(rawValue:)),
              let name = component["name"] as? String, let version = component["version"] as? String,
              let supplier = (component["supplier"] as? [String: Any])?["name"] as? String else { return nil }
        let sha256 = (component["hashes"] as? [[String: String]])?.first { $0["alg"] == "SHA-256" }?["content"]
        let license = (component["licenses"] as? [[String: String]])?.first?["expression"]
        let location = (component["externalReferences"] as? [[String: String]])?.first { $0["type"] == "distribution" }?["url"]
        let sourceInfo = property("kiln:source")
        var comment = component["description"] as? String
        if let sourceInfo, let text = comment, let range = text.range(of: " It was " + sourceInfo + ".") {
            comment = String(text[..<range.lowerBound])
        }
        return Package(
            id: id, kind: kind, name: name, version: version, supplier: property("kiln:supplier") ?? "Organization: " + supplier, purl: component["purl"] as? String,
            sha256: sha256, downloadLocation: location, license: license, sourceInfo: sourceInfo, comment: comment, parent: parent)
    }

    /// The package kind an SPDX id kiln wrote names.
    private static func kind(ofID id: String) -> Package.Kind? {
        if id == "SPDXRef-Image" { return .image }
        if id == "SPDXRef-BaseImage" { return .base }
        if id.hasPrefix("SPDXRef-Layer-") { return .layer }
        if id.hasPrefix("SPDXRef-Package-deb-") { return .debian }
        if id.hasPrefix("SPDXRef-StorePath-") { return .storePath }
        return nil
    }

    /// A file's origin from the comment kiln wrote for it.
    private static func origin(ofComment comment: String) -> SBOMOriginKind {
        let prefixes: [(String, SBOMOriginKind)] = [
            ("Shipped by the Debian package", .debianPackage), ("Listed by the dpkg package", .debianPackage),
            ("From the store path", .derivation), ("Written by the command of the build layer", .build),
            ("Declared by the files entry", .filesEntry), ("From the base image", .baseImage), ("Written by kiln", .generated),
        ]
        return prefixes.first { comment.hasPrefix($0.0) }?.1 ?? .layer
    }

    private static func assertion(_ value: Any?) -> String? {
        guard let text = value as? String, text != "NOASSERTION", text != "NONE" else { return nil }
        return text
    }

    private static func timestamp(_ text: String) -> Timestamp? {
        try? Timestamp(rfc3339: text)
    }
}
