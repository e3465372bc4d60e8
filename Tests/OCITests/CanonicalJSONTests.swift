import Foundation
import Archive
import KilnCore
import OCI
import Testing
import TestSupport

@Suite struct CanonicalJSONTests {
    static func text(_ value: some Encodable) throws -> String {
        String(decoding: try CanonicalJSONEncoder().encode(value), as: UTF8.self)
    }

    /// Python's json.dumps with sorted keys and no spaces: code-point order,
    /// which is UTF-8 byte order, and the same escapes.
    static func python(_ json: String) throws -> String {
        try Tools.run(["python3", "-c", """
            import json, sys
            value = json.loads(sys.stdin.read())
            sys.stdout.write(json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False))
            """], stdin: Array(json.utf8))
    }

    @Test(.requires(.tools("python3")))
    func sortsKeysByUTF8BytesAsPythonDoes() throws {
        let object: [String: String] = [
            "b": "x", "a": "a/b", "Z": "\u{7f}\u{2028}<>&", "é": "1", "e\u{301}x": "2", "\u{FFFF}": "3",
            "\u{10000}": "4", "aa": "5", "a_": "6", "A": "\u{1}\t\n\r\u{8}\u{c}\"\\", "": "empty",
        ]
        let ours = try Self.text(object)
        #expect(ours == (try Self.python(ours)))
        // U+FFFF sorts before U+10000 in UTF-8 (and code points), unlike UTF-16.
        let ffff = try #require(ours.range(of: "\u{FFFF}"))
        let astral = try #require(ours.range(of: "\u{10000}"))
        #expect(ffff.lowerBound < astral.lowerBound)
    }

    @Test func writesTheDocumentedForms() throws {
        #expect(try Self.text(["url": "https://example.com/a"]) == #"{"url":"https://example.com/a"}"#)
        #expect(try Self.text(["\u{1f}"]) == #"["\u001f"]"#)
        #expect(try Self.text([JSONValue.double(5), .double(0.1), .double(-2.5e-7), .double(1e300), .integer(-3)]) == "[5,0.1,-2.5e-07,1e+300,-3]")
        #expect(try Self.text([JSONValue.null, .bool(true), .bool(false), .object([:]), .array([])]) == "[null,true,false,{},[]]")
        #expect(try Self.text(Descriptor(mediaType: "m", digest: ContentDigest(parsing: "sha256:" + String(repeating: "a", count: 64)), size: 3))
            == #"{"digest":"sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","mediaType":"m","size":3}"#)
    }

    @Test func rejectsNumbersJSONCannotHold() throws {
        let error = try #require(throws: CanonicalJSONError.self) { try CanonicalJSONEncoder().encode(["x": [Double.nan]]) }
        #expect(error.description == "cannot encode canonical JSON at .x[0]: nan is not a JSON number")
        struct Big: Encodable {
            var value: UInt64
            enum CodingKeys: String, CodingKey { case value }
        }
        let big = try #require(throws: CanonicalJSONError.self) { try CanonicalJSONEncoder().encode(Big(value: .max)) }
        #expect(big.description == "cannot encode canonical JSON at .value: 18446744073709551615 does not fit a signed 64-bit integer")
    }

    @Test func readsBackWhatItWrites() throws {
        let value: JSONValue = .object([
            "list": .array([.integer(1), .double(1.5), .string("ü"), .null]),
            "nested": .object(["flag": .bool(true)]),
        ])
        let bytes = try CanonicalJSONEncoder().encode(value)
        #expect(try JSONDecoder().decode(JSONValue.self, from: Data(bytes)) == value)
        #expect(String(decoding: bytes, as: UTF8.self) == #"{"list":[1,1.5,"ü",null],"nested":{"flag":true}}"#)
    }
}

@Suite struct OCITypesTests {
    static let digest = try! ContentDigest(parsing: "sha256:" + String(repeating: "0", count: 63) + "1")

    static func roundTrip<Value: Codable & Equatable>(_ value: Value) throws -> Value {
        try JSONDecoder().decode(Value.self, from: Data(CanonicalJSONEncoder().encode(value)))
    }

    @Test func manifestsAndIndexesRoundTrip() throws {
        let layer = Descriptor(mediaType: MediaType.layerTarGzip, digest: Self.digest, size: 10, urls: ["https://example.com/l"], annotations: ["a": "b"])
        let manifest = ImageManifest(config: Descriptor(mediaType: MediaType.imageConfig, digest: Self.digest, size: 2), layers: [layer], annotations: ["k": "v"])
        #expect(try Self.roundTrip(manifest) == manifest)
        let entry = Descriptor(
            mediaType: MediaType.imageManifest, digest: Self.digest, size: 5, annotations: ["org.opencontainers.image.ref.name": "1"],
            platform: Platform(os: "linux", architecture: "arm64", variant: "v8", osVersion: "1", osFeatures: ["f"]))
        let index = ImageIndex(manifests: [entry])
        #expect(try Self.roundTrip(index) == index)
        #expect(try CanonicalJSONTests.text(entry.platform!) == #"{"architecture":"arm64","os":"linux","os.features":["f"],"os.version":"1","variant":"v8"}"#)
        let docker = [DockerManifestEntry(config: "blobs/sha256/1", repoTags: ["a:b"], layers: ["blobs/sha256/2"])]
        #expect(try Self.roundTrip(docker) == docker)
        #expect(try CanonicalJSONTests.text(docker) == #"[{"Config":"blobs/sha256/1","Layers":["blobs/sha256/2"],"RepoTags":["a:b"]}]"#)
        #expect(try CanonicalJSONTests.text(LayoutMarker()) == #"{"imageLayoutVersion":"1.0.0"}"#)
    }

    @Test func configsRoundTripWithTheSpecsFieldNames() throws {
        let config = OCIFixtures.config(for: [])
        #expect(try Self.roundTrip(config) == config)
        let text = try CanonicalJSONTests.text(config)
        #expect(text == #"{"architecture":"amd64","config":{"Cmd":["--serve"],"Entrypoint":["/bin/app"],"Env":["PATH=/usr/bin:/bin","RUST_LOG=info"],"ExposedPorts":{"8080/tcp":{}},"Labels":{"org.opencontainers.image.source":"https://example.com/app"},"StopSignal":"SIGTERM","User":"65532:65532","Volumes":{"/var/lib/app":{}},"WorkingDir":"/app"},"created":"1970-01-01T00:00:00Z","history":[],"os":"linux","rootfs":{"diff_ids":[],"type":"layers"}}"#)
        let history = History(created: "c", createdBy: "kiln files x", author: "a", comment: "m", emptyLayer: true)
        #expect(try CanonicalJSONTests.text(history) == #"{"author":"a","comment":"m","created":"c","created_by":"kiln files x","empty_layer":true}"#)
    }

    @Test func keepsRuntimeFieldsKilnDoesNotModelAndDropsBuildProvenance() throws {
        let docker = #"""
            {"architecture":"amd64","os":"linux","container":"abc","docker_version":"24.0",
             "container_config":{"Cmd":["/bin/sh"]},
             "config":{"Cmd":null,"Env":["A=1"],"Healthcheck":{"Test":["CMD","true"],"Interval":30000000000},
                       "Shell":["/bin/bash","-c"],"OnBuild":null,"ArgsEscaped":true,"Hostname":""},
             "rootfs":{"type":"layers","diff_ids":[]}}
            """#
        let config = try JSONDecoder().decode(ImageConfig.self, from: Data(docker.utf8))
        #expect(config.config?.cmd == nil)
        #expect(config.config?.argsEscaped == true)
        #expect(config.config?.additionalFields["Healthcheck"] == .object(["Test": .array([.string("CMD"), .string("true")]), "Interval": .integer(30_000_000_000)]))
        #expect(config.config?.additionalFields["OnBuild"] == .null)
        let text = try CanonicalJSONTests.text(config)
        #expect(text == #"{"architecture":"amd64","config":{"ArgsEscaped":true,"Env":["A=1"],"Healthcheck":{"Interval":30000000000,"Test":["CMD","true"]},"Hostname":"","OnBuild":null,"Shell":["/bin/bash","-c"]},"os":"linux","rootfs":{"diff_ids":[],"type":"layers"}}"#)
    }

    @Test func mapsLayerMediaTypesToCompression() {
        #expect(MediaType.layerCompression(MediaType.layerTarGzip) == .gzip)
        #expect(MediaType.layerCompression(MediaType.layerTarZstd) == .zstd)
        #expect(MediaType.layerCompression(MediaType.layerTar) == DecompressionFormat.none)
        #expect(MediaType.layerCompression(MediaType.dockerLayerGzip) == .gzip)
        #expect(MediaType.layerCompression("application/vnd.oci.image.layer.nondistributable.v1.tar+gzip") == .gzip)
        #expect(MediaType.layerCompression(MediaType.imageConfig) == nil)
    }
}
