import Crypto
import Foundation
import KilnCore
import OCI
import Strategies

extension SBOMModel {
    /// Accounts for every regular file of `catalog` (the image `subject`
    /// describes): by the provenance of the plan layer that wrote it, by
    /// the base image (and the base's dpkg package that lists it), or, for
    /// a layer of unknown origin, by the dpkg package that lists it or the
    /// layer itself.
    init(subject: SBOMSubject, catalog: ImageFileCatalog) {
        var builder = Builder(subject: subject, catalog: catalog)
        builder.run()
        self.init(
            packages: builder.packages, files: builder.files, licenseReferences: builder.licenseReferences,
            documentName: subject.name + ":" + subject.tag, manifestDigest: subject.manifest.digest, created: subject.created)
    }

    private struct Builder {
        let subject: SBOMSubject
        let catalog: ImageFileCatalog
        let dpkg: DpkgDatabase
        var packages: [Package] = []
        var files: [File] = []
        var licenseReferences: [String: String] = [:]
        private var usedIDs = Set<String>()
        /// Layer index → its package id.
        private var layerIDs: [Int: String] = [:]
        /// Debian packages of plan layers: "layer key" → id.
        private var debianIDs: [String: String] = [:]
        private var storePathIDs: [String: String] = [:]
        /// dpkg database entry → id.
        private var dpkgIDs: [Int: String] = [:]
        private let imageID = "SPDXRef-Image"
        private let baseID = "SPDXRef-BaseImage"

        init(subject: SBOMSubject, catalog: ImageFileCatalog) {
            self.subject = subject
            self.catalog = catalog
            self.dpkg = DpkgDatabase(catalog)
        }

        var imageSupplier: String {
            if let vendor = subject.vendor, !vendor.isEmpty { return "Organization: " + Builder.actorName(vendor) }
            return "Organization: " + subject.name
        }

        mutating func run() {
            usedIDs = [imageID, baseID]
            let repository = subject.name.split(separator: "/").last.map(String.init) ?? subject.name
            packages.append(Package(
                id: imageID, kind: .image, name: subject.name, version: subject.tag, supplier: imageSupplier,
                purl: "pkg:oci/\(PackageLocators.purlEncode(repository))@sha256%3A\(subject.manifest.digest.hex)?arch=\(subject.platform.architecture)"
                    + "&repository_url=\(PackageLocators.purlEncode(subject.name))&tag=\(PackageLocators.purlEncode(subject.tag))",
                sha256: subject.manifest.digest.hex, comment: "The image \(subject.name):\(subject.tag) (\(subject.platform)); its manifest is \(subject.manifest.digest)."))
            if let base = subject.base {
                let baseName = base.reference.split(separator: "@").first.map(String.init) ?? base.reference
                let baseRepository = Builder.repository(of: baseName)
                packages.append(Package(
                    id: baseID, kind: .base, name: base.reference, version: base.digest.description,
                    supplier: "Organization: " + baseRepository,
                    purl: "pkg:oci/\(PackageLocators.purlEncode(baseRepository.split(separator: "/").last.map(String.init) ?? baseRepository))@sha256%3A\(base.digest.hex)",
                    sha256: base.digest.hex, comment: "The base image \(base.reference), manifest \(base.digest).", parent: imageID))
            }
            for (index, layer) in subject.layers.enumerated() {
                switch layer.role {
                case .base: break
                case .plan(let name, let strategy, let provenance): addPlanLayer(index, name: name, strategy: strategy, provenance: provenance, layer: layer.layer)
                case .image:
                    let id = uniqueID("SPDXRef-Layer-\(index + 1)")
                    layerIDs[index] = id
                    packages.append(Package(
                        id: id, kind: .layer, name: "\(subject.name) layer \(index + 1)", version: layer.layer.descriptor.digest.description,
                        supplier: imageSupplier, sha256: layer.layer.descriptor.digest.hex,
                        comment: "Layer \(index + 1) of the image (diff_id \(layer.layer.diffID)).", parent: imageID))
                }
            }
            addDpkgPackages()
            for file in catalog.files { account(file) }
        }

        /// A plan layer and the packages and store paths its provenance names.
        private mutating func addPlanLayer(_ index: Int, name: String, strategy: String, provenance: Provenance, layer: LayoutLayer) {
            let id = uniqueID("SPDXRef-Layer-" + Builder.idSafe(name))
            layerIDs[index] = id
            var package = Package(
                id: id, kind: .layer, name: "\(subject.name) layer \(name)", version: layer.descriptor.digest.description,
                supplier: imageSupplier, sha256: layer.descriptor.digest.hex,
                comment: "The \(strategy) layer \"\(name)\" of the plan (diff_id \(layer.diffID)).", parent: imageID)
            var builds: [String] = []
            for origin in provenance.origins {
                switch origin {
                case .package(let deb):
                    let key = Builder.debKey(index, deb.name, deb.version, deb.architecture)
                    guard debianIDs[key] == nil else { continue }
                    let debID = uniqueID("SPDXRef-Package-deb-" + Builder.idSafe(deb.name + "-" + deb.version + "-" + deb.architecture))
                    debianIDs[key] = debID
                    let status = dpkg.packages.first { $0.name == deb.name && $0.version == deb.version }
                    let url = subject.packageURLs[SBOMSubject.packageKey(name: deb.name, version: deb.version, architecture: deb.architecture)]
                    let declared = license(of: deb.name)
                    packages.append(Package(
                        id: debID, kind: .debian, name: deb.name, version: deb.version, supplier: Builder.supplier(maintainer: status?.maintainer),
                        purl: PackageLocators.debianPURL(deb.name, deb.version, deb.architecture), sha256: deb.sha256,
                        downloadLocation: url.flatMap(PackageLocators.downloadLocation), license: declared,
                        comment: "Debian package \(deb.name) \(deb.version) (\(deb.architecture)), installed by the packages layer \"\(name)\".", parent: id))
                case .storePath(let store):
                    guard storePathIDs[store.path] == nil else { continue }
                    let base = store.path.split(separator: "/").last.map(String.init) ?? store.path
                    let storeID = uniqueID("SPDXRef-StorePath-" + Builder.idSafe(base))
                    storePathIDs[store.path] = storeID
                    let (storeName, storeVersion) = Builder.storeNameAndVersion(base)
                    packages.append(Package(
                        id: storeID, kind: .storePath, name: storeName, version: storeVersion, supplier: imageSupplier,
                        comment: "The store path \(store.path), copied by the derivation layer \"\(name)\".", parent: id))
                case .build(let build):
                    let inputs = build.inputs.map { "\($0.path) (\($0.digest?.description ?? "not digested"))" }
                    builds.append("built by running \(Builder.shellWords(build.command))"
                        + (inputs.isEmpty ? " with no inputs" : " with the inputs " + inputs.joined(separator: ", ")))
                case .filesEntry, .generated: break
                }
            }
            if !builds.isEmpty { package.sourceInfo = builds.joined(separator: "; ") }
            packages.insert(package, at: packages.firstIndex { $0.parent == id } ?? packages.count)
        }

        /// The dpkg database's packages not already described by a plan
        /// layer's provenance: the base image's, or an unknown layer's.
        private mutating func addDpkgPackages() {
            for (index, entry) in dpkg.packages.enumerated() {
                guard let statusFile = catalog.files.first(where: { $0.path == entry.statusPath }) else { continue }
                let parent: String
                switch subject.layers[statusFile.layer].role {
                case .plan: continue
                case .base: parent = baseID
                case .image: parent = layerIDs[statusFile.layer] ?? imageID
                }
                let id = uniqueID("SPDXRef-Package-deb-" + Builder.idSafe(entry.name + "-" + entry.version + "-" + entry.architecture))
                dpkgIDs[index] = id
                let source = parent == baseID ? "listed by the base image's dpkg database" : "listed by the image's dpkg database"
                let declared = license(of: entry.name)
                packages.append(Package(
                    id: id, kind: .debian, name: entry.name, version: entry.version, supplier: Builder.supplier(maintainer: entry.maintainer),
                    purl: PackageLocators.debianPURL(entry.name, entry.version, entry.architecture), license: declared,
                    comment: "Debian package \(entry.name) \(entry.version) (\(entry.architecture)), \(source) (/\(entry.statusPath)).", parent: parent))
            }
        }

        /// The declared license of an installed package, from its
        /// machine-readable copyright file.
        private mutating func license(of package: String) -> String? {
            guard let bytes = catalog.captured["usr/share/doc/\(package)/copyright"],
                  let copyright = DebianCopyright(String(decoding: bytes, as: UTF8.self)) else { return nil }
            licenseReferences.merge(copyright.references) { first, _ in first }
            return copyright.expression
        }

        /// Accounts for one file.
        private mutating func account(_ file: ImageFileCatalog.File) {
            let layer = subject.layers[file.layer]
            let container: String
            let origin: SBOMOriginKind
            let comment: String
            let owner = dpkg.owners[file.path].flatMap { dpkgIDs[$0] }
            switch layer.role {
            case .base:
                container = owner ?? baseID
                origin = .baseImage
                comment = "From the base image \(subject.base?.reference ?? "")" + (owner.map { _ in ", listed by its dpkg package \(dpkg.packages[dpkg.owners[file.path]!].name)" } ?? "") + "."
            case .image:
                container = owner ?? layerIDs[file.layer] ?? imageID
                origin = owner == nil ? .layer : .debianPackage
                comment = owner.map { _ in "Listed by the dpkg package \(dpkg.packages[dpkg.owners[file.path]!].name)." } ?? "In layer \(file.layer + 1) of the image."
            case .plan(let name, _, let provenance):
                let layerID = layerIDs[file.layer] ?? imageID
                switch provenance.origin(of: file.memberPath) ?? provenance.origin(of: file.path) {
                case .package(let deb):
                    container = debianIDs[Builder.debKey(file.layer, deb.name, deb.version, deb.architecture)] ?? layerID
                    origin = .debianPackage
                    comment = "Shipped by the Debian package \(deb.name) \(deb.version) (\(deb.architecture)), layer \"\(name)\"."
                case .storePath(let store):
                    container = storePathIDs[store.path] ?? layerID
                    origin = .derivation
                    comment = "From the store path \(store.path), layer \"\(name)\"."
                case .build:
                    container = layerID
                    origin = .build
                    comment = "Written by the command of the build layer \"\(name)\"."
                case .filesEntry(let entry):
                    container = layerID
                    origin = .filesEntry
                    let source = provenance.sourcePath(of: file.memberPath).map { ", copied from \($0) in the plan's directory" } ?? ""
                    comment = "Declared by the files entry \(entry.path) (\(entry.kind.rawValue))\(source), layer \"\(name)\"."
                case .generated(let generated):
                    let key = generated.package.flatMap { package in
                        provenance.origins.lazy.compactMap { origin -> String? in
                            guard case .package(let deb) = origin, deb.name == package else { return nil }
                            return Builder.debKey(file.layer, deb.name, deb.version, deb.architecture)
                        }.first
                    }
                    container = key.flatMap { debianIDs[$0] } ?? layerID
                    origin = .generated
                    comment = "Written by kiln (\(generated.reason)\(generated.package.map { " for \($0)" } ?? "")), layer \"\(name)\"."
                case nil:
                    container = layerID
                    origin = .layer
                    comment = "In the layer \"\(name)\"."
                }
            }
            files.append(File(
                id: "SPDXRef-File-" + String(Hex.string(SHA256.hash(data: Array(file.path.utf8))).prefix(20)), path: file.path,
                sha1: file.sha1, sha256: file.sha256, size: file.size, container: container, origin: origin, comment: comment))
        }

        private mutating func uniqueID(_ wanted: String) -> String {
            var id = wanted
            var number = 2
            while !usedIDs.insert(id).inserted {
                id = wanted + "-\(number)"
                number += 1
            }
            return id
        }

        static func debKey(_ layer: Int, _ name: String, _ version: String, _ architecture: String) -> String {
            "\(layer) \(name) \(version) \(architecture)"
        }

        /// SPDX ids hold `[A-Za-z0-9.-]` only.
        static func idSafe(_ text: String) -> String {
            String(text.map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "-") ? $0 : "-" })
        }

        /// `Person: Name (email)` from a Maintainer field; Debian when there is none.
        static func supplier(maintainer: String?) -> String {
            guard let maintainer = maintainer?.trimmingCharacters(in: .whitespaces), !maintainer.isEmpty else { return "Organization: Debian" }
            if let open = maintainer.lastIndex(of: "<"), let close = maintainer.lastIndex(of: ">"), open < close {
                let name = actorName(String(maintainer[..<open]))
                let email = maintainer[maintainer.index(after: open)..<close].trimmingCharacters(in: .whitespaces)
                return "Person: " + (name.isEmpty ? email : name) + (email.isEmpty ? "" : " (\(email))")
            }
            return "Person: " + actorName(maintainer)
        }

        /// A name as an SPDX actor holds it (no parentheses, one line).
        static func actorName(_ text: String) -> String {
            String(text.map { $0 == "(" || $0 == ")" || $0 == "\n" ? " " : $0 }).trimmingCharacters(in: .whitespaces)
        }

        /// `registry/team/app` of `registry/team/app:tag`.
        static func repository(of reference: String) -> String {
            guard let colon = reference.lastIndex(of: ":"), !reference[colon...].contains("/") else { return reference }
            return String(reference[..<colon])
        }

        /// `hello` and `2.12` of `<hash>-hello-2.12` (Nix's split: the
        /// version starts at the first `-` followed by a digit); the hash
        /// is the version of a name without one.
        static func storeNameAndVersion(_ base: String) -> (String, String) {
            let parts = base.split(separator: "-", maxSplits: 1)
            guard parts.count == 2 else { return (base, base) }
            let (hash, rest) = (String(parts[0]), String(parts[1]))
            let pieces = rest.split(separator: "-", omittingEmptySubsequences: false)
            if let split = pieces.indices.dropFirst().first(where: { pieces[$0].first?.isNumber == true }) {
                return (pieces[..<split].joined(separator: "-"), pieces[split...].joined(separator: "-"))
            }
            return (rest, hash)
        }

        /// An argv as a shell would read it back.
        static func shellWords(_ argv: [String]) -> String {
            argv.map { word in
                word.allSatisfy({ $0.isLetter || $0.isNumber || "-_./=:,+@%".contains($0) }) && !word.isEmpty
                    ? word : "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
            }.joined(separator: " ")
        }
    }
}
