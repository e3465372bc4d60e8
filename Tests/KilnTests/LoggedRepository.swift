import Foundation
import Glibc
import Testing
import TestSupport

/// A signed apt repository served over HTTP by a Python server that logs
/// every request (`GET /path status`), answering `If-None-Match` for
/// InRelease with its ETag and `If-Modified-Since` for every file (as
/// http.server does).
final class LoggedRepository {
    let root: String
    let url: String
    private let server: PythonServer
    private let logPath: String

    static let script = #"""
    set -eu
    export GNUPGHOME="$PWD/gnupg" SOURCE_DATE_EPOCH=0
    mkdir -m 700 gnupg
    gpg --batch --quiet --pinentry-mode loopback --passphrase '' --quick-gen-key 'kiln test <test@kiln.invalid>' ed25519 sign never
    gpg --batch --export > keyring.gpg
    pkg() { # pkg NAME BYTES
      d=build/$1; mkdir -p $d/DEBIAN $d/usr/share/$1
      printf 'Package: %s\nVersion: 1.0\nArchitecture: amd64\nMaintainer: kiln <k@kiln.invalid>\nDescription: fixture\n' $1 > $d/DEBIAN/control
      head -c $2 /dev/urandom > $d/usr/share/$1/data
      mkdir -p repo/pool; dpkg-deb --root-owner-group -Znone --build $d repo/pool/$1_1.0_amd64.deb > /dev/null
    }
    pkg hello 2000
    pkg bulk 300000
    cd repo
    mkdir -p dists/test/main/binary-amd64
    dpkg-scanpackages -m pool /dev/null 2>/dev/null > dists/test/main/binary-amd64/Packages
    gzip -n -k dists/test/main/binary-amd64/Packages
    ( cd dists/test
      { echo "Suite: test"; echo "Architectures: amd64"; echo "Components: main"; echo "SHA256:"
        for f in main/binary-amd64/Packages main/binary-amd64/Packages.gz; do echo " $(sha256sum $f | cut -d' ' -f1) $(stat -c %s $f) $f"; done; } > Release
      gpg --batch --yes --clearsign -o InRelease Release )
    cd ..
    gpgconf --kill gpg-agent || true
    """#

    static let server = #"""
    import functools, hashlib, http.server, os, sys
    root, log = sys.argv[1], open(sys.argv[2], "a", buffering=1)
    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format, *args):
            log.write("%s %s %s\n" % (self.command, self.path, args[1] if len(args) > 1 else "-"))
        def do_GET(self):
            if not self.path.endswith("/InRelease"):
                return super().do_GET()
            with open(os.path.join(root, self.path.lstrip("/")), "rb") as f:
                body = f.read()
            etag = '"%s"' % hashlib.sha256(body).hexdigest()
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304); self.send_header("ETag", etag); self.end_headers(); return
            self.send_response(200); self.send_header("ETag", etag); self.send_header("Content-Length", str(len(body))); self.end_headers()
            self.wfile.write(body)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=root))
    print("Serving HTTP on 127.0.0.1 port %d" % server.server_address[1], flush=True)
    server.serve_forever()
    """#

    init(in scratch: TemporaryDirectory) throws {
        try Tools.run(["bash", "-c", Self.script], in: scratch.path)
        root = scratch.path + "/repo"
        logPath = scratch.path + "/requests.log"
        server = try PythonServer(["-c", Self.server, root, logPath])
        guard let range = server.firstLine.range(of: "port ") else { throw TestSupportError("no port: \(server.firstLine)") }
        url = "http://127.0.0.1:" + server.firstLine[range.upperBound...]
    }

    deinit { server.stop() }

    /// A linux/amd64 plan whose layer `runtime` installs `names` from this
    /// repository, then `more` (more layers, YAML).
    func plan(_ name: String, names: String, more: String = "") -> String {
        """
        kiln: 1
        name: example.com/packages/\(name)
        platform: linux/amd64
        layers:
          - name: runtime
            type: packages
            names: \(names)
            sources:
              - { uri: "\(url)", suite: test, components: [main], signed_by: keyring.gpg }
        \(more)
        """
    }

    /// The requests logged since the last call, as `GET /path status`.
    func requests() throws -> [String] {
        let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        // Emptied, not removed: the server keeps the file open (appending).
        truncate(logPath, 0)
        return text.split(separator: "\n").map(String.init)
    }
}
