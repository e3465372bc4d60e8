import Foundation
import KilnCore
import Plan
import Testing
import TestSupport
import YAML

/// Random and mutated plans through the YAML parser and the plan decoder
/// in process: every input must end in a value or a thrown error, never a
/// crash or a hang. The generator is seeded, so a failure reproduces; the
/// seed and the input are printed when one does.
@Suite struct PlanFuzzTests {
    /// Inputs per run. Bounded by count, not time, so the run is the same
    /// on every machine; about ten seconds in a debug build on two cores,
    /// including one python3 run that checks the accepted inputs against
    /// the JSON Schema.
    /// `KILN_FUZZ_ITERATIONS` and `KILN_FUZZ_SEED` (decimal) override both,
    /// for a longer local run or to replay a failure.
    static let iterations = Int(ProcessInfo.processInfo.environment["KILN_FUZZ_ITERATIONS"] ?? "") ?? 15_000
    static let seed = UInt64(ProcessInfo.processInfo.environment["KILN_FUZZ_SEED"] ?? "") ?? 0x6b69_6c6e_2d66_757a

    /// Bytes that steer libyaml into its less common paths.
    static let interesting: [UInt8] = Array(":-[]{},#&*!|>'\"%@`?\n\t \\0123456789abcxyz/.~<=".utf8) + [0x00, 0x80, 0xC3, 0xE2, 0xEF, 0xBB, 0xBF, 0xFE, 0xFF, 0x0D]

    @Test func randomAndMutatedPlansNeverCrash() throws {
        let corpus = try Self.corpus()
        #expect(corpus.all.count >= 80)
        let directory = Locations.fixtures.appendingPathComponent("valid").path
        let loader = PlanLoader(environment: [:])
        var rng = SplitMix64(seed: Self.seed)
        var parsed = 0
        var accepted: [String: String] = [:]
        for iteration in 0..<Self.iterations {
            let input = Self.input(iteration: iteration, corpus: corpus, rng: &rng)
            let root = try? YAMLParser.parse(input)
            if root != nil { parsed += 1 }
            do {
                _ = try loader.decode(input, file: "fuzz.yaml", directory: directory)
                if let root { accepted["iteration \(iteration): " + Self.show(input)] = CoreSchemaJSON.json(root) }
            } catch {
                for problem in error.errors {
                    // Every message is one line that names the file and a position.
                    #expect(problem.description.hasPrefix("fuzz.yaml:") && !problem.description.contains("\n"),
                            "seed \(Self.seed) iteration \(iteration): \(problem.description.debugDescription) for input \(Self.show(input))")
                    #expect(problem.location.line >= 1 && problem.location.column >= 1)
                }
            }
        }
        // The mutations must reach past the YAML parser, or they test little.
        #expect(parsed > Self.iterations / 4)
        #expect(accepted.count > Self.iterations / 20)
        // What kiln accepts, the schema must accept: an editor must never
        // underline a plan that builds.
        if try Requirement.jsonschema.isMet() {
            for (input, errors) in try SchemaValidator.validate(accepted) where !errors.isEmpty {
                Issue.record("seed \(Self.seed) \(input): kiln accepts it, the schema says \(errors)")
            }
        }
    }

    /// The input for one iteration: a tenth random bytes, the rest
    /// mutations, half of them of a valid plan (so that many inputs get
    /// past the YAML reader and deep into the decoder).
    static func input(iteration: Int, corpus: Corpus, rng: inout SplitMix64) -> [UInt8] {
        if iteration % 10 == 0 {
            let count = rng.below(300)
            return (0..<count).map { _ in rng.chance(2) ? interesting[rng.below(interesting.count)] : UInt8(truncatingIfNeeded: rng.next()) }
        }
        let pool = rng.chance(2) ? corpus.valid : corpus.all
        var bytes = pool[rng.below(pool.count)]
        for _ in 0..<(rng.chance(2) ? 1 : 2 + rng.below(3)) {
            mutate(&bytes, corpus: corpus.all, rng: &rng)
        }
        return bytes
    }

    static func mutate(_ bytes: inout [UInt8], corpus: [[UInt8]], rng: inout SplitMix64) {
        switch rng.below(8) {
        case 0 where !bytes.isEmpty: // flip bits of one byte
            bytes[rng.below(bytes.count)] ^= UInt8(truncatingIfNeeded: 1 << rng.below(8))
        case 1: // insert a few interesting bytes
            let at = rng.below(bytes.count + 1)
            bytes.insert(contentsOf: (0..<(1 + rng.below(4))).map { _ in interesting[rng.below(interesting.count)] }, at: at)
        case 2 where !bytes.isEmpty: // delete a range
            let start = rng.below(bytes.count)
            bytes.removeSubrange(start..<min(bytes.count, start + 1 + rng.below(16)))
        case 3: // duplicate a line
            var lines = split(bytes)
            guard !lines.isEmpty else { return }
            let index = rng.below(lines.count)
            lines.insert(lines[index], at: rng.below(lines.count + 1))
            bytes = Array(lines.joined(separator: [0x0A]))
        case 4: // swap two lines
            var lines = split(bytes)
            guard lines.count > 1 else { return }
            lines.swapAt(rng.below(lines.count), rng.below(lines.count))
            bytes = Array(lines.joined(separator: [0x0A]))
        case 5: // splice: a prefix of this input, a suffix of another
            let other = corpus[rng.below(corpus.count)]
            bytes = Array(bytes.prefix(rng.below(bytes.count + 1))) + other.suffix(rng.below(other.count + 1))
        case 6 where !bytes.isEmpty: // replace one byte with an interesting one
            bytes[rng.below(bytes.count)] = interesting[rng.below(interesting.count)]
        default: // change a line's indentation
            var lines = split(bytes)
            guard !lines.isEmpty else { return }
            let index = rng.below(lines.count)
            if rng.chance(2) {
                lines[index].insert(contentsOf: Array(repeating: 0x20, count: 1 + rng.below(4)), at: 0)
            } else {
                lines[index] = Array(lines[index].drop { $0 == 0x20 })
            }
            bytes = Array(lines.joined(separator: [0x0A]))
        }
    }

    static func split(_ bytes: [UInt8]) -> [[UInt8]] {
        bytes.split(separator: 0x0A, omittingEmptySubsequences: false).map(Array.init)
    }

    struct Corpus {
        /// Plans that decode in the valid fixtures' directory.
        var valid: [[UInt8]]
        /// Those, the examples and every invalid fixture.
        var all: [[UInt8]]
    }

    static func corpus() throws -> Corpus {
        func read(_ files: [URL]) throws -> [[UInt8]] {
            try files.map { try Array(Data(contentsOf: $0)) }.filter { !$0.isEmpty }
        }
        func fixtures(_ set: String) -> [URL] {
            Locations.fixturePlans(set).map { Locations.fixtures.appendingPathComponent(set).appendingPathComponent($0) }
        }
        let valid = try read(fixtures("valid"))
        return Corpus(valid: valid, all: try valid + read(Locations.examplePlans + fixtures("invalid")))
    }

    /// An input as a Swift string literal would spell it, for reproducing.
    static func show(_ bytes: [UInt8]) -> String {
        String(decoding: bytes, as: UTF8.self).debugDescription
    }
}
