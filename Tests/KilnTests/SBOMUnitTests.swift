@testable import Kiln
import Testing

/// The pieces of an SBOM that need no image: DEP-5 licenses as SPDX
/// expressions, purls, and which download locations are kept.
@Suite struct SBOMUnitTests {
    static let dep5 = "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\n"

    @Test func dep5LicensesBecomeSPDXExpressions() throws {
        let copyright = try #require(DebianCopyright(Self.dep5 + """
            Files: *
            Copyright: 1995 someone
            License: GPL-2+ or Artistic

            Files: lib/*
            Copyright: 2001 someone else
            License: Expat

            Files: doc/*
            Copyright: 2001 someone else
            License: Expat

            Files: contrib/*
            Copyright: 2010 a third
            License: Local-Terms

            License: Local-Terms
             Use it kindly.
             .
             Or not at all.
            """))
        #expect(copyright.expression == "(GPL-2.0-or-later OR Artistic-1.0) AND MIT AND LicenseRef-Local-Terms")
        #expect(copyright.references == ["LicenseRef-Local-Terms": "Use it kindly.\n\nOr not at all."])
    }

    @Test func aNameWithoutAStandaloneTextIsExplained() throws {
        let copyright = try #require(DebianCopyright(Self.dep5 + "Files: *\nCopyright: x\nLicense: public-domain\n"))
        #expect(copyright.expression == "LicenseRef-public-domain")
        #expect(copyright.references["LicenseRef-public-domain"] == "The license named \"public-domain\" in the package's debian/copyright.")
    }

    @Test(arguments: [
        "This package was debianized by someone.\n\nIt is GPL.\n",
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\nFiles: *\nCopyright: x\n",
    ])
    func notMachineReadableOrNoLicenseGivesNone(_ text: String) {
        #expect(DebianCopyright(text) == nil)
    }

    @Test func purlsEncodeTheEpoch() {
        #expect(PackageLocators.debianPURL("libc6", "2.36-9+deb12u4", "amd64") == "pkg:deb/debian/libc6@2.36-9+deb12u4?arch=amd64")
        #expect(PackageLocators.debianPURL("base-lib", "1:2.0-1", "all") == "pkg:deb/debian/base-lib@1%3A2.0-1?arch=all")
    }

    @Test(arguments: [
        ("https://mirror.example/debian/pool/main/h/hello/hello_2.10-3_amd64.deb", true),
        ("http://10.0.0.7/pool/a.deb", true),
        ("file:///srv/repo/pool/a.deb", false),
        ("http://127.0.0.1:8080/pool/a.deb", false),
        ("http://localhost/pool/a.deb", false),
        ("http://[::1]:8080/pool/a.deb", false),
        ("not a url", false),
    ])
    func downloadLocationsValidatorsAccept(_ url: String, kept: Bool) {
        #expect((PackageLocators.downloadLocation(url) == url) == kept)
    }
}
