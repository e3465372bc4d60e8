import Foundation
import Synchronization
import Archive
import KilnCore
import Plan
import Strategies
@testable import Debian
import TestSupport

/// A signed local apt repository of hand-built `.deb`s, made once per test
/// run with the real tools (dpkg-deb, dpkg-scanpackages, gpg, xz, gzip,
/// sha256sum) and shared by the integration tests, which only read it.
final class RepositoryFixture: Sendable {
    /// Tools the fixture needs; tests using it require them.
    static let tools = Requirement.tools("dpkg-deb", "dpkg-scanpackages", "gpg", "gpg-agent", "gpgconf", "gpgv", "xz", "gzip", "zstd", "sha256sum", "python3")

    /// Built on first use; a failure is reported by every test that uses it.
    private static let result: Result<RepositoryFixture, TestSupportError> = {
        do {
            return .success(try RepositoryFixture())
        } catch let failure as TestSupportError {
            return .failure(failure)
        } catch {
            return .failure(TestSupportError("\(error)"))
        }
    }()

    static func shared() throws -> RepositoryFixture { try result.get() }

    /// For the exit handler, which cannot capture anything.
    private static let createdRoot = Mutex<String?>(nil)

    /// The fixture directory, under the temporary directory; removed when
    /// the test process exits (Swift Testing has no suite-wide teardown).
    let root: String
    private let directory: TemporaryDirectory
    /// `file://` URI of the repository.
    var uri: String { "file://" + root + "/repo" }
    /// The public key that signed both suites, binary and armored.
    var keyring: String { root + "/keyring.gpg" }
    var armoredKeyring: String { root + "/keyring.asc" }
    /// Another key's keyring.
    var wrongKeyring: String { root + "/wrong.gpg" }
    /// Long key id of the signing key, as gpgv reports it.
    let keyID: String

    private init() throws {
        self.directory = try TemporaryDirectory(prefix: "kiln-debian-fixture")
        let directory = self.directory.path
        root = directory
        RepositoryFixture.createdRoot.withLock { $0 = directory }
        atexit {
            if let root = RepositoryFixture.createdRoot.withLock({ $0 }) { try? FileManager.default.removeItem(atPath: root) }
        }
        try Tools.run(["bash", "-c", RepositoryFixture.script], in: root)
        keyID = try Tools.run(["bash", "-c", "gpg --with-colons --list-keys | awk -F: '/^pub/ {print $5; exit}'"], environment: Tools.environment(setting: ["GNUPGHOME": root + "/gnupg"]))
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The `.deb` of a package in the pool.
    func deb(_ file: String) -> String { root + "/repo/" + file }

    /// A copy of the repository the test may damage.
    func copyRepository() throws -> TemporaryDirectory {
        let copy = try TemporaryDirectory(prefix: "kiln-debian-repo")
        try Tools.run(["cp", "-a", root + "/repo/.", copy.path])
        return copy
    }

    /// A plan around one packages layer, with its directory at `directory`.
    static func plan(directory: String, layer: PackagesLayer, base: BaseImage = .scratch) -> (ImageBuildPlan, LayerSpec) {
        let spec = LayerSpec(name: "runtime", strategy: .packages(layer), location: SourceLocation(file: "app.yaml", line: 3, column: 5))
        let plan = ImageBuildPlan(
            file: "app.yaml", directory: directory, context: directory, name: "example.invalid/app", tag: "latest",
            base: base, platform: Platform(os: "linux", architecture: "amd64"), created: Timestamp(secondsSinceEpoch: 0),
            compression: .gzip, layers: [spec], config: RuntimeConfig(), annotations: [:])
        return (plan, spec)
    }

    /// A repository source on this fixture (or a copy of it).
    func source(uri: String? = nil, suite: String = "test", signedBy: String?? = .none, allowUnsigned: Bool = false) -> PackageSource {
        let keyring: String? = switch signedBy {
        case .none: self.keyring
        case .some(let value): value
        }
        return .repository(AptRepository(uri: uri ?? self.uri, suite: suite, components: ["main"], signedBy: keyring, allowUnsigned: allowUnsigned))
    }

    /// Builds the packages, the index, the Release files and the signatures.
    static let script = #"""
    set -euo pipefail
    export GNUPGHOME="$PWD/gnupg" SOURCE_DATE_EPOCH=0
    mkdir -m 700 gnupg gnupg-wrong
    gpg --batch --quiet --pinentry-mode loopback --passphrase '' --quick-gen-key 'kiln test <test@kiln.invalid>' ed25519 sign never
    gpg --batch --export > keyring.gpg
    gpg --batch --armor --export > keyring.asc
    GNUPGHOME="$PWD/gnupg-wrong" gpg --batch --quiet --pinentry-mode loopback --passphrase '' --quick-gen-key 'other <other@kiln.invalid>' ed25519 sign never
    GNUPGHOME="$PWD/gnupg-wrong" gpg --batch --export > wrong.gpg

    # pkg NAME VERSION ARCH COMPRESSION [control lines…]: builds build/NAME-VERSION into the pool.
    pkg() {
      local name=$1 version=$2 arch=$3 z=$4; shift 4
      local dir="build/$name-$version"
      mkdir -p "$dir/DEBIAN"
      { echo "Package: $name"; echo "Version: $version"; echo "Architecture: $arch"
        echo "Maintainer: kiln tests <test@kiln.invalid>"; for line in "$@"; do echo "$line"; done
        echo "Description: fixture package $name"; echo " for kiln's packages strategy tests."; } > "$dir/DEBIAN/control"
      local pool=repo/pool; [ "$arch" = all ] && pool=repo/pool-all
      mkdir -p "$pool"
      dpkg-deb --root-owner-group -Z"$z" --build "$dir" "$pool/${name}_${version}_${arch}.deb" > /dev/null
    }
    file() { mkdir -p "$(dirname "$1")"; printf '%s' "$2" > "$1"; chmod "${3:-0644}" "$1"; }

    # app: setuid, hardlink, symlink, a path over 100 bytes, /bin content, a postinst.
    d=build/app-1.0-1
    file $d/usr/bin/app $'#!/bin/sh\necho app\n' 0755
    ln $d/usr/bin/app $d/usr/bin/app-hard
    ln -s app $d/usr/bin/app-link
    file $d/bin/app-suid $'suid\n' 4755
    long=$d/usr/share/app/a-directory-name-that-is-long-enough-to-need-more-than-ustar/and-a-file-name-that-is-long-too-for-the-100-byte-name-field.txt
    file "$long" $'long\n'
    mkdir -p $d/DEBIAN; file $d/DEBIAN/postinst $'#!/bin/sh\nexit 0\n' 0755
    pkg app 1.0-1 amd64 xz 'Pre-Depends: base-conf' 'Depends: libfoo (>= 1.0), mta-a | mta-b'

    d=build/libfoo-1.0; file $d/usr/lib/x86_64-linux-gnu/libfoo.so.1 $'libfoo one\n'
    pkg libfoo 1.0 amd64 zstd
    d=build/libfoo-2.0; file $d/lib/x86_64-linux-gnu/libfoo.so.2 $'libfoo two\n'
    pkg libfoo 2.0 amd64 gzip
    d=build/base-conf-1; file $d/etc/base.conf $'base\n'
    pkg base-conf 1 all none
    d=build/mta-b-1; file $d/usr/sbin/sendmail $'mta\n' 0755
    pkg mta-b 1 amd64 xz 'Provides: mail-transport-agent'
    d=build/server-one-1; file $d/usr/sbin/httpd-one $'one\n' 0755
    pkg server-one 1 amd64 xz 'Provides: httpd'
    d=build/server-two-2; file $d/usr/sbin/httpd-two $'two\n' 0755
    pkg server-two 2 amd64 xz 'Provides: httpd'
    d=build/web-1; file $d/usr/share/web/index.html $'<p>hi</p>\n'
    pkg web 1 all xz 'Depends: httpd'
    d=build/clash-a-1; file $d/etc/clash $'a\n'
    pkg clash-a 1 amd64 xz
    d=build/clash-b-1; file $d/etc/clash $'b\n'
    pkg clash-b 1 amd64 xz
    d=build/same-a-1; file $d/etc/same $'same\n'; mkdir -p $d/etc/shared
    pkg same-a 1 amd64 xz
    d=build/same-b-1; file $d/etc/same $'same\n'; mkdir -p $d/etc/shared
    pkg same-b 1 amd64 xz
    d=build/compat-1; file $d/sbin/tool $'tool\n' 0755; mkdir -p $d/usr/sbin; ln -s /sbin/tool $d/usr/sbin/tool
    pkg compat 1 amd64 xz
    d=build/ca-certificates-1
    file $d/usr/share/ca-certificates/test/b.crt $'-----BEGIN CERTIFICATE-----\nBBBB\n-----END CERTIFICATE-----\n'
    file $d/usr/share/ca-certificates/test/a.crt $'-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----'
    file $d/usr/share/ca-certificates/other/c.crt $'-----BEGIN CERTIFICATE-----\nCCCC\n-----END CERTIFICATE-----\n'
    mkdir -p $d/etc/ssl/certs
    file $d/DEBIAN/postinst $'#!/bin/sh\nupdate-ca-certificates\n' 0755
    pkg ca-certificates 1 all xz

    mkdir -p debs
    cp repo/pool/libfoo_2.0_amd64.deb repo/pool-all/base-conf_1_all.deb debs/

    # Suite "test": binary-amd64 as xz, binary-all as gzip, signed InRelease.
    cd repo
    mkdir -p dists/test/main/binary-amd64 dists/test/main/binary-all
    dpkg-scanpackages -m pool /dev/null 2>/dev/null > dists/test/main/binary-amd64/Packages
    dpkg-scanpackages -m pool-all /dev/null 2>/dev/null > dists/test/main/binary-all/Packages
    xz -k dists/test/main/binary-amd64/Packages
    gzip -n -k dists/test/main/binary-all/Packages
    release() { # release SUITE ARCHES BYHASH FILES…
      local suite=$1 arches=$2 byhash=$3; shift 3
      ( cd dists/$suite
        { echo "Origin: kiln-test"; echo "Suite: $suite"; echo "Codename: $suite"; echo "Architectures: $arches"
          echo "Components: main"; echo "Acquire-By-Hash: $byhash"; echo "SHA256:"
          for f in "$@"; do echo " $(sha256sum "$f" | cut -d' ' -f1) $(stat -c %s "$f") $f"; done; } > Release
        gpg --batch --yes --clearsign -o InRelease Release )
    }
    release test "amd64 all" no main/binary-amd64/Packages main/binary-amd64/Packages.xz main/binary-all/Packages main/binary-all/Packages.gz

    # Suite "hashed": the index only reachable through by-hash.
    mkdir -p dists/hashed/main/binary-amd64
    cat dists/test/main/binary-amd64/Packages ../repo/dists/test/main/binary-all/Packages > dists/hashed/main/binary-amd64/Packages
    xz dists/hashed/main/binary-amd64/Packages
    release hashed amd64 yes main/binary-amd64/Packages.xz
    hash=$(sha256sum dists/hashed/main/binary-amd64/Packages.xz | cut -d' ' -f1)
    mkdir -p dists/hashed/main/binary-amd64/by-hash/SHA256
    mv dists/hashed/main/binary-amd64/Packages.xz dists/hashed/main/binary-amd64/by-hash/SHA256/$hash
    cd ..
    gpgconf --kill gpg-agent || true
    GNUPGHOME="$PWD/gnupg-wrong" gpgconf --kill gpg-agent || true
    """#
}
