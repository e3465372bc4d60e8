import Foundation
import KilnCore
import Plan
import Testing
import TestSupport

/// Messages of the decoder that the corpus alone would not pin down: each
/// is the exact line a user sees.
@Suite struct PlanDiagnosticsTests {
    let directory: TemporaryDirectory

    init() throws {
        directory = try TemporaryDirectory()
    }

    @Test(arguments: [
        // A value from the plan is quoted with escapes, so an error is always one line.
        ("kiln: 1\nname: app\ntag: \"a\\nb\\\"c\"\n" + validLayer,
         ["plan.yaml:3:6: error: tag \"a\\nb\\\"c\" is invalid (1 to 128 of A-Z a-z 0-9 _ . -, not starting with . or -)"]),
        // A plain scalar folded over an empty line holds a newline too.
        ("kiln: 1\nname: example.com/app\n\n  - config\n" + validLayer,
         ["plan.yaml:2:7: error: image name \"example.com/app\\n- config\" has an invalid component \"app\\n- config\" (allowed: lowercase letters, digits, and . _ __ - between them)"]),
        // A misspelled required key is reported once, as the misspelling.
        ("kiln: 1\nname: app\nlayers:\n  - { name: app, type: build, comand: make }\n",
         ["plan.yaml:4:31: error: layer \"app\": unknown key \"comand\" (did you mean \"command\"?)"]),
        ("kiln: 1\nnmae: app\n" + validLayer,
         ["plan.yaml:2:1: error: unknown key \"nmae\" (did you mean \"name\"?)"]),
        // A key of another context that also looks like a misspelling here.
        ("kiln: 1\nname: app\nlayers:\n  - { name: app, type: build, cmd: make }\n",
         ["plan.yaml:4:31: error: layer \"app\": key \"cmd\" belongs at the top level of the plan, not in a layer (did you mean \"command\"?)"]),
        // Words other tools use.
        ("kiln: 1\nname: app\nlayers:\n  - { name: c, type: files, files: [{ path: /a, content: x, permissions: \"0600\" }] }\n",
         ["plan.yaml:4:61: error: layer \"c\": file \"/a\": unknown key \"permissions\" (did you mean \"mode\"?)"]),
        ("kiln: 1\nname: app\nlayers:\n  - { name: c, type: packages, packages: [curl] }\n",
         ["plan.yaml:4:32: error: layer \"c\": unknown key \"packages\" (did you mean \"names\"?)"]),
        ("kiln: 1\nname: app\nworking_dir: /app\n" + validLayer,
         ["plan.yaml:3:1: error: unknown key \"working_dir\" (did you mean \"workdir\"?)"]),
        // What was found is shown, not a YAML word.
        ("kiln: 1\nname: app\nlayers: [config]\n",
         ["plan.yaml:3:10: error: layers[0]: a layer must be a mapping, not the string \"config\""]),
        ("kiln: 1\nname: !!bool true\n" + validLayer,
         ["plan.yaml:2:7: error: \"name\" must be a string, not !!bool \"true\""]),
        // Quoted numbers and booleans.
        ("kiln: 1\nname: app\nlayers:\n  - { name: b, type: build, command: make, timeout: \"30\" }\n",
         ["plan.yaml:4:53: error: layer \"b\": \"timeout\" (seconds) must be a whole number without quotes, not the quoted string \"30\""]),
        ("kiln: 1\nname: app\nlayers:\n  - { name: d, type: derivation, store_path: /nix/store/0c4wpbvxxqkvbq0x3v6rhwsh3b6j2n8j-a, closure: 'false' }\n",
         ["plan.yaml:4:102: error: layer \"d\": \"closure\" must be true or false without quotes, not the quoted string \"false\""]),
        // Exec form hints.
        ("kiln: 1\nname: app\ncmd: --port 8080\n" + validLayer,
         ["plan.yaml:3:6: error: \"cmd\" (exec form) must be a list of strings, not a string (write [\"--port\", \"8080\"]; exec form runs no shell)"]),
        ("kiln: 1\nname: app\nentrypoint: exec app > /dev/null\n" + validLayer,
         ["plan.yaml:3:13: error: \"entrypoint\" (exec form) must be a list of strings, not a string (write [\"/bin/sh\", \"-c\", \"exec app > /dev/null\"]; exec form runs no shell)"]),
        // An invalid layer name is named by position, not repeated.
        ("kiln: 1\nname: app\nlayers:\n  - { name: My-Layer, type: files, files: [] }\n",
         ["plan.yaml:4:13: error: layers[0]: layer name \"My-Layer\" is invalid: use lowercase letters, digits, . _ - and start with a letter or digit (did you mean \"my-layer\"?)"]),
        ("kiln: 1\nname: app\nlayers:\n  - { name: a, type: nix, store_path: /nix/store/x }\n",
         ["plan.yaml:4:22: error: layer \"a\": unknown layer type \"nix\"; the types are files, packages, build, derivation, wasm"]),
        // Two kinds of content: named in the plan's order, at the second.
        ("kiln: 1\nname: app\nlayers:\n  - { name: c, type: files, files: [{ path: /a, symlink: /b, directory: true }] }\n",
         ["plan.yaml:4:62: error: layer \"c\": file \"/a\": has both \"symlink\" and \"directory\"; an entry holds exactly one of source, content, symlink, directory"]),
        ("kiln: 1\nname: app\nlayers:\n  - { name: c, type: files, files: [{ path: /a, directory: true, symlink: /b }] }\n",
         ["plan.yaml:4:66: error: layer \"c\": file \"/a\": has both \"directory\" and \"symlink\"; an entry holds exactly one of source, content, symlink, directory"]),
        // The first use of a duplicate name is the name itself.
        ("kiln: 1\nname: app\nlayers:\n  - { name: a, type: files, files: [] }\n  - { name: a, type: files, files: [] }\n",
         ["plan.yaml:5:13: error: duplicate layer name \"a\" (first used at 4:13)"]),
        // An alias repeats a node with its marks: the message says so, not "the other at" itself.
        ("kiln: 1\nname: app\nlayers:\n  - { name: a, type: files, files: [&e {path: /x, content: y}, *e] }\n",
         ["plan.yaml:4:37: error: layer \"a\": two entries produce the image path /x (an alias repeats the entry)"]),
        ("kiln: 1\nname: app\nlayers:\n  - &l { name: a, type: files, files: [] }\n  - *l\n",
         ["plan.yaml:4:16: error: duplicate layer name \"a\" (an alias repeats the layer)"]),
        // root without paths: one error, the specific one.
        ("kiln: 1\nname: app\nlayers:\n  - { name: t, type: files, root: . }\n",
         ["plan.yaml:4:29: error: layer \"t\": \"root\" needs \"paths\" (the paths under it to copy)"]),
        // Package sources.
        ("kiln: 1\nname: app\nlayers:\n  - { name: p, type: packages, names: [curl], sources: [{ dir: ., suite: bookworm }] }\n",
         ["plan.yaml:4:67: error: layer \"p\": sources[0]: key \"suite\" is not valid with \"dir\": a source is either a repository {uri, suite, …} or a directory {dir}"]),
        ("kiln: 1\nname: app\nlayers:\n  - { name: p, type: packages, names: [curl], sources: [debian] }\n",
         ["plan.yaml:4:57: error: layer \"p\": sources[0]: a package source must be system, a repository {uri, suite, components} or a directory {dir}, not the string \"debian\""]),
        ("kiln: 1\nname: app\nlayers:\n  - { name: p, type: packages, names: [curl], sources: [{ uri: \"https://\", suite: ./ }] }\n",
         ["plan.yaml:4:64: error: layer \"p\": sources[0]: uri \"https://\" names nothing after https://"]),
        // Signals: digits only.
        ("kiln: 1\nname: app\nstop_signal: \"+9\"\n" + validLayer,
         ["plan.yaml:3:14: error: stop_signal \"+9\" is not a signal name like \"SIGTERM\" or a number"]),
        ("kiln: 1\nname: app\nstop_signal: SIGRTMAX--0\n" + validLayer,
         ["plan.yaml:3:14: error: stop_signal \"SIGRTMAX--0\" is not a signal name like \"SIGTERM\" or a number"]),
        // A bad image path is named by position, not repeated.
        ("kiln: 1\nname: app\nlayers:\n  - { name: c, type: files, files: [{ path: /etc/, content: x }] }\n",
         ["plan.yaml:4:45: error: layer \"c\": files[0]: path \"/etc/\" is not normalized (did you mean \"/etc\"?)"]),
        // A store path under another store: store_dir was probably forgotten.
        ("kiln: 1\nname: app\nlayers:\n  - { name: d, type: derivation, store_path: /gnu/store/0c4wpbvxxqkvbq0x3v6rhwsh3b6j2n8j-a }\n",
         ["plan.yaml:4:46: error: layer \"d\": store path \"/gnu/store/0c4wpbvxxqkvbq0x3v6rhwsh3b6j2n8j-a\" is not under the store directory /nix/store (set store_dir for another store)"]),
        ("kiln: 1\nname: app\nlayers:\n  - { name: d, type: derivation, store_dir: /gnu/store, store_path: /nix/store/0c4wpbvxxqkvbq0x3v6rhwsh3b6j2n8j-a }\n",
         ["plan.yaml:4:69: error: layer \"d\": store path \"/nix/store/0c4wpbvxxqkvbq0x3v6rhwsh3b6j2n8j-a\" is not under the store directory /gnu/store"]),
        ("kiln: 1\nname: app\nlayers:\n  - { name: p, type: packages, names: [curl], sources: host }\n",
         ["plan.yaml:4:56: error: layer \"p\": \"sources\" must be system, or a list of repositories ({uri, suite, components, signed_by, allow_unsigned}) and directories ({dir}), not the string \"host\""]),
        // The version line is the one thing every plan needs first.
        ("name: app\n" + validLayer,
         ["plan.yaml:1:1: error: missing required key \"kiln\" (the plan format version: add \"kiln: 1\")"]),
    ] as [(String, [String])])
    func messages(plan: String, expected: [String]) {
        #expect(decodeErrors(plan, in: directory.path) == expected)
    }

    /// NUL cannot reach a process or a file name (exec and open stop at it),
    /// so a plan value holding one is refused where it is written, instead
    /// of running `echo a` for `echo a\0b` or keeping `K=a` in the process
    /// but `K=a\u0000b` in the config. Only inline `content` may hold NUL.
    @Test func nulAndControlCharactersAreRefusedWhereTheyAreWritten() {
        let plan = """
            kiln: 1
            name: example.com/nul
            env: { K: "a\\0b", "B\\x01AD": x }
            labels: { l: "two\\nlines" }
            layers:
              - name: one
                type: files
                files:
                  - { path: "/etc/a\\0b", content: x }
                  - { path: /etc/link, symlink: "a\\0b" }
                  - { path: /etc/esc, symlink: "a\\eb" }
                  - { path: /etc/binary, content: "bin\\0ary" }
                  - { path: "/etc/t\\tab", content: x }
              - name: two
                type: build
                command: ["/bin/sh", "-c", "echo a\\0b > $KILN_OUT/x"]
                inputs: ["sr\\x7fc"]

            """
        let nul = "contains a NUL character (\\0), which no path, argument, environment variable or image config can carry"
        #expect(decodeErrors(plan, in: directory.path) == [
            "plan.yaml:3:11: error: \"env\" \"K\" \(nul)",
            "plan.yaml:3:19: error: \"env\" key \"B\\u{1}AD\" contains the control character \\u{1}; names and paths must be printable",
            "plan.yaml:9:17: error: layer \"one\": files[0]: \"path\" \(nul)",
            "plan.yaml:10:37: error: layer \"one\": file \"/etc/link\": \"symlink\" \(nul)",
            "plan.yaml:11:36: error: layer \"one\": file \"/etc/esc\": \"symlink\" contains the control character \\u{1B}; names and paths must be printable",
            "plan.yaml:13:17: error: layer \"one\": files[4]: path \"/etc/t\\tab\" contains the control character \\t; paths must be printable",
            "plan.yaml:16:32: error: layer \"two\": \"command\"[2] \(nul)",
            "plan.yaml:17:14: error: layer \"two\": input \"sr\\u{7F}c\" contains the control character \\u{7F}; paths must be printable",
        ])
    }

    @Test func hugeValuesAreCutInMessages() {
        let name = String(repeating: "a", count: 1_000_000)
        let key = String(repeating: "k", count: 200_000)
        let errors = decodeErrors("kiln: 1\nname: \(name)\n? \(key)\n: 1\n" + validLayer, in: directory.path)
        let shown = String(repeating: "a", count: 100)
        #expect(errors == [
            "plan.yaml:2:7: error: image name \"\(shown)…\" (1000000 characters) is longer than 255 characters",
            "plan.yaml:3:3: error: unknown key \"\(String(repeating: "k", count: 100))…\" (200000 characters)",
        ])
    }

    @Test func signalNumbersMayHaveLeadingZeros() throws {
        let plan = try testLoader().decode(Array("kiln: 1\nname: app\nstop_signal: \"09\"\n\(validLayer)".utf8), file: "plan.yaml", directory: directory.path)
        #expect(plan.config.stopSignal == "09")
    }
}
