import Glibc
import Synchronization

/// bcrypt password hashes, for the `htpasswd` file of a registry with Basic
/// authentication (distribution reads bcrypt entries only).
///
/// Made by the system's libcrypt (libxcrypt, Debian's `libcrypt1`, which is
/// essential and so on every machine), opened with `dlopen`: `htpasswd -B`
/// would add `apache2-utils` to the test packages, Python's `crypt` module
/// is deprecated and hashes bcrypt only where libcrypt does anyway, and
/// PyPI's `bcrypt` would be one more pip install. Linking `-lcrypt` would
/// need a system-library target for one test helper.
enum Bcrypt {
    /// `crypt` and `crypt_gensalt` return static buffers: one caller at a time.
    private static let lock = Mutex(())

    /// The `$2b$` hash of `password` with a random salt, at the lowest cost
    /// (4): the registry checks it on every request, and a test wants speed,
    /// not resistance to guessing.
    /// - Throws: ``TestSupportError`` when libcrypt is missing or refuses.
    static func hash(_ password: String) throws -> String {
        try lock.withLock { _ in
            guard let library = dlopen("libcrypt.so.1", RTLD_NOW) else {
                throw TestSupportError("cannot open libcrypt.so.1 for a bcrypt hash: \(String(cString: dlerror()))")
            }
            defer { dlclose(library) }
            guard let gensaltSymbol = dlsym(library, "crypt_gensalt"), let cryptSymbol = dlsym(library, "crypt") else {
                throw TestSupportError("libcrypt.so.1 has no crypt_gensalt or crypt")
            }
            typealias Gensalt = @convention(c) (UnsafePointer<CChar>?, UInt, UnsafePointer<CChar>?, Int32) -> UnsafeMutablePointer<CChar>?
            typealias Crypt = @convention(c) (UnsafePointer<CChar>?, UnsafePointer<CChar>?) -> UnsafeMutablePointer<CChar>?
            let gensalt = unsafeBitCast(gensaltSymbol, to: Gensalt.self)
            let crypt = unsafeBitCast(cryptSymbol, to: Crypt.self)
            // A nil random-bytes argument: libcrypt reads the system's random source.
            guard let setting = gensalt("$2b$", 4, nil, 0).map({ String(cString: $0) }),
                  let hashed = crypt(password, setting).map({ String(cString: $0) }), hashed.hasPrefix("$2b$")
            else {
                throw TestSupportError("libcrypt made no bcrypt hash (\(String(cString: strerror(errno))))")
            }
            return hashed
        }
    }
}
