import Foundation
import KilnCore
import Testing
import TestSupport

/// An image with every kind of origin, for the SBOM tests: a base image
/// (built by kiln) whose dpkg status lists two installed packages, one of
/// them with a file list; a packages layer from a local signed repository
/// whose `.deb`s carry DEP-5 copyright files; a files, a build and a
/// derivation layer. Everything lives in one scratch directory.
struct SBOMFixture {
    static let tools = Requirement.tools("dpkg-deb", "dpkg-scanpackages", "gpg", "gpgv", "gpgconf", "sha256sum", "python3")
    /// The validators and the coverage check (scripts/check-sbom).
    static let validators = Requirement.tools("pyspdxtools", "ntia-checker", "umoci", "skopeo", "oci-image-tool")
    static let checkScript = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("scripts/check-sbom").path
    static let store = "0c4wpbvxxqkvbq0x3v6rhwsh3b6j2n8j-greeting-2.1"

    let scratch: TemporaryDirectory
    var app: String { scratch.path + "/app" }
    var storeDir: String { scratch.path + "/store/nix/store" }

    init(sbom: String = "spdx") throws {
        scratch = try TemporaryDirectory(prefix: "kiln-sbom")
        try Tools.run(["bash", "-c", SBOMFixture.script], in: scratch.path, environment: Tools.environment(setting: ["GNUPGHOME": scratch.path + "/gnupg"]))
        try scratch.write("store/nix/store/\(Self.store)/share/greeting", "hello from the store\n")
        try scratch.write("base/plan.yaml", """
            kiln: 1
            name: example.com/sbom/base
            tag: "12"
            platform: linux/amd64
            layers:
              - name: root
                type: files
                root: root
                paths: [etc, usr, var]

            """)
        try scratch.write("app/config/app.conf", "greeting = hello\n")
        try scratch.write("app/src/greet.sh", "#!/bin/sh\necho greet\n", mode: 0o755)
        try scratch.write("app/plan.yaml", """
            kiln: 1
            name: example.com/sbom/app
            tag: "1.0"
            platform: linux/amd64
            base: oci:base-layout:12
            sbom: \(sbom)
            layers:
              - name: runtime
                type: packages
                names: [hello, plain]
                sources:
                  - { uri: "file://\(scratch.path)/repo", suite: test, components: [main], signed_by: \(scratch.path)/keyring.gpg }
              - name: config
                type: files
                files:
                  - { path: /etc/app/app.conf, source: config/app.conf }
                  - { path: /etc/motd, content: "welcome\\n" }
                  - { path: /etc/old.conf, remove: true }
              - name: tools
                type: build
                inputs: [src]
                command: mkdir -p "$KILN_OUT/usr/local/bin" && cp src/greet.sh "$KILN_OUT/usr/local/bin/greet"
              - name: store
                type: derivation
                store_dir: \(storeDir)
                store_path: \(storeDir)/\(Self.store)

            """)
        let base = try Build.run(["base/plan.yaml", "-o", "app/base-layout"], in: scratch.path)
        guard base.succeeded else { throw TestSupportError("building the base failed: \(base.stderr)") }
        // Pinned, so a rebuild is served entirely from the cache (and the
        // lock's file:// URLs are what the SBOM must not name).
        let lock = try Tools.execute([KilnBinary.path, "lock", "plan.yaml"], in: app, environment: Build.environment(cache: app + "/.cache"))
        guard lock.succeeded else { throw TestSupportError("kiln lock failed: \(lock.stderr)") }
    }

    /// The `.deb` of `name` in the repository's pool.
    func deb(_ name: String) -> String { scratch.path + "/repo/pool/" + name }

    /// Runs scripts/check-sbom on `document`, with `--rootfs` when given;
    /// its output (one `ok:` line per check) or the failure.
    static func check(_ document: String, rootfs: String? = nil, sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let result = try Tools.execute(["python3", checkScript, document] + (rootfs.map { ["--rootfs", $0] } ?? []))
        #expect(result.succeeded, "check-sbom \(document): \(result.stderr)\(result.stdout)", sourceLocation: sourceLocation)
        return result.stdout
    }

    /// Builds the base image's tree and the signed repository.
    static let script = #"""
    set -euo pipefail
    export SOURCE_DATE_EPOCH=0
    mkdir -m 700 gnupg
    gpg --batch --quiet --pinentry-mode loopback --passphrase '' --quick-gen-key 'kiln sbom test <sbom@kiln.invalid>' ed25519 sign never
    gpg --batch --export > keyring.gpg
    file() { mkdir -p "$(dirname "$1")"; printf '%s' "$2" > "$1"; chmod "${3:-0644}" "$1"; }
    dep5='Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/'

    # The base image: a dpkg status with two installed packages and one
    # removed, a file list for one of them, and a file no package lists.
    r=base/root
    file $r/var/lib/dpkg/status $'Package: base-files\nStatus: install ok installed\nVersion: 12.4\nArchitecture: amd64\nMaintainer: Base Maintainers <base@kiln.invalid>\nDescription: base files\n\nPackage: base-lib\nStatus: install ok installed\nVersion: 1:2.0-1\nArchitecture: amd64\nMaintainer: Lib Team <lib@kiln.invalid>\nDescription: a library\n\nPackage: gone\nStatus: deinstall ok config-files\nVersion: 1\nArchitecture: amd64\nDescription: removed\n'
    file $r/var/lib/dpkg/info/base-files.list $'/.\n/etc\n/etc/base-release\n/usr/share/doc/base-files/copyright\n'
    file $r/var/lib/dpkg/info/base-lib.md5sums $'d41d8cd98f00b204e9800998ecf8427e  usr/lib/libbase.so.2\n'
    file $r/etc/base-release $'base 12\n'
    file $r/etc/hostname $'base\n'
    file $r/etc/old.conf $'removed by the app\n'
    file $r/usr/lib/libbase.so.2 $'libbase\n'
    file $r/usr/share/doc/base-files/copyright "$dep5"$'\n\nFiles: *\nCopyright: 2024 kiln\nLicense: GPL-2+\n'

    # pkg NAME VERSION ARCH [control lines…]: builds build/NAME into repo/pool.
    pkg() {
      local name=$1 version=$2 arch=$3; shift 3
      local dir="build/$name"
      mkdir -p "$dir/DEBIAN" repo/pool
      { echo "Package: $name"; echo "Version: $version"; echo "Architecture: $arch"
        echo "Maintainer: Greeting Team <greet@kiln.invalid>"; for line in "$@"; do echo "$line"; done
        echo "Description: fixture package $name"; } > "$dir/DEBIAN/control"
      dpkg-deb --root-owner-group -Zxz --build "$dir" "repo/pool/${name}_${version/*:/}_${arch}.deb" > /dev/null
    }
    file build/hello/usr/bin/hello $'#!/bin/sh\necho hello\n' 0755
    file build/hello/usr/share/doc/hello/copyright "$dep5"$'\nUpstream-Name: hello\n\nFiles: *\nCopyright: 2024 kiln\nLicense: GPL-2+\n\nFiles: lib/*\nCopyright: 2024 kiln\nLicense: Expat\n\nLicense: Expat\n Permission is hereby granted.\n'
    pkg hello 2.10-3 amd64 'Depends: libgreet'
    file build/libgreet/usr/lib/libgreet.so.1 $'greet\n'
    file build/libgreet/usr/share/doc/libgreet/copyright "$dep5"$'\n\nFiles: *\nCopyright: 2024 kiln\nLicense: BSD-3-clause or kiln-special\n\nLicense: kiln-special\n You may greet.\n .\n Twice.\n'
    pkg libgreet 1:1.0-1 all
    file build/plain/usr/share/plain/data $'plain\n'
    file build/plain/usr/share/doc/plain/copyright $'Not machine-readable.\n'
    pkg plain 1.0 all

    cd repo
    mkdir -p dists/test/main/binary-amd64
    dpkg-scanpackages -m pool /dev/null 2>/dev/null > dists/test/main/binary-amd64/Packages
    ( cd dists/test
      { echo "Origin: kiln-sbom-test"; echo "Suite: test"; echo "Codename: test"; echo "Architectures: amd64 all"
        echo "Components: main"; echo "SHA256:"
        for f in main/binary-amd64/Packages; do echo " $(sha256sum "$f" | cut -d' ' -f1) $(stat -c %s "$f") $f"; done; } > Release
      gpg --batch --yes --clearsign -o InRelease Release )
    cd ..
    gpgconf --kill gpg-agent || true
    """#
}
