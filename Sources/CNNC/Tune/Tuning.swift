import Foundation

/// What `cnnc compile --tune` measured and chose, as the package's `tuning.json`: the machine and the date, and for
/// each conv and dense group the candidates of its forward and backward halves with their median times and the
/// one chosen. `cnnc compile --tuning FILE` and `cnnc plan --tuning FILE` apply a recorded tuning again without
/// timing anything, after checking that it is a tuning of this network: its groups, their shapes, and schedules
/// that this cnnc makes for those shapes (a schedule is only ever one of the candidates, never arbitrary data).
public struct Tuning: Codable, Sendable, Equatable {
    /// The layout of this file; a reader refuses another.
    public var format = Tuning.currentFormat
    public var cnnc = CNNCVersion.current
    public var network: String
    /// The .cnn file's last path component.
    public var source: String
    /// The CPU (`model name` of /proc/cpuinfo) and when the times were taken (ISO 8601, UTC).
    public var machine: String
    public var date: String
    /// The batch one timed step ran on, on one thread.
    public var batch: Int
    /// The timing budget in seconds, and what it bought: builds (one per variant) and rounds over them.
    public var seconds: Double
    public var variants: Int
    public var rounds: Int
    /// The fraction by which a candidate must beat the standard schedule's median to be chosen.
    public var margin: Double
    public var groups: [Group]

    public static let currentFormat = 1

    /// One conv or dense group's tuning.
    public struct Group: Codable, Sendable, Equatable {
        /// The group's name (its kernels are NAME_forward / NAME_backward) and its shapes, which must match.
        public var group: String
        public var shape: String
        public var forward: Half
        /// Nil for a group without a backward pass.
        public var backward: Half?
        /// The schedule chosen: the chosen forward half with the chosen backward half.
        public var schedule: CPUGroupSchedule
    }

    /// The candidates of one half of a group, their times and the one chosen (0: the standard schedule).
    public struct Half: Codable, Sendable, Equatable {
        public var kernels: [String]
        public var chosen: Int
        public var candidates: [Candidate]
    }

    /// A candidate as `cnnc plan` describes it, with the median and fastest of its per-step times (milliseconds,
    /// the kernels of its half summed) over `steps` timed steps.
    public struct Candidate: Codable, Sendable, Equatable {
        public var form: String
        public var medianMs: Double
        public var fastestMs: Double
        public var steps: Int
    }

    /// A group's shapes in words: what a schedule is decided from.
    static func shape(_ g: FusedGroup) -> String {
        var op: String
        switch g.op {
        case let .conv(filters, w):
            op = "conv \(filters) \(w.kernel) stride \(w.stride) padding \(w.padding)"
        case let .dense(units): op = "dense \(units)"
        default: op = "other"
        }
        op += " on \(g.input) -> \(g.output)"
        if let a = g.activation { op += ", \(a)" }
        if !g.biases.isEmpty { op += ", biases " + g.biases.map { "\($0.kind)" }.joined(separator: ",") }
        if g.residuals > 0 { op += ", \(g.residuals) residual(s)" }
        op += g.needsBackward ? (g.needsInputGradient ? ", input gradient" : ", no input gradient") : ", no backward"
        return op
    }

    /// The groups' schedules this tuning chooses, by plan group index, after checking it against `plan`; errors
    /// name `file`.
    public func overrides(_ plan: KernelPlan, file: String) throws -> [Int: CPUGroupSchedule] {
        func fail(_ message: String) -> CompileError { CompileError("\(file): error: \(message)") }
        guard format == Self.currentFormat else {
            throw fail("tuning format \(format) is not one this cnnc reads (\(Self.currentFormat)); tune again")
        }
        guard network == plan.network.name else {
            throw fail("this is a tuning of network '\(network)', not of '\(plan.network.name)'")
        }
        var out: [Int: CPUGroupSchedule] = [:]
        var seen = Set<String>()
        for t in groups {
            guard seen.insert(t.group).inserted else { throw fail("group '\(t.group)' is tuned twice") }
            guard let gi = plan.groups.firstIndex(where: { $0.name == t.group }),
                  let candidates = TuneCandidates.of(plan, group: gi) else {
                throw fail("the network has no conv or dense layer '\(t.group)' (tune it again)")
            }
            let now = Self.shape(plan.groups[gi])
            guard now == t.shape else {
                throw fail("'\(t.group)' was tuned as \(t.shape), but is now \(now) (tune it again)")
            }
            let standard = candidates.standard
            guard candidates.forward.contains(standard.joining(forwardOf: t.schedule)),
                  candidates.backward.contains(standard.joining(backwardOf: t.schedule)),
                  t.schedule == standard.joining(forwardOf: t.schedule).joining(backwardOf: t.schedule) else {
                throw fail("'\(t.group)''s schedule is not one cnnc \(CNNCVersion.current) makes for its shape "
                           + "(tune it again)")
            }
            // `summary` prints the chosen candidate of each half into kernels.c: an index outside the list is refused
            // here, not trapped on there.
            for (name, half) in [("forward", t.forward), ("backward", t.backward)] {
                guard let half, !half.candidates.indices.contains(half.chosen) else { continue }
                throw fail("'\(t.group)' \(name): candidate \(half.chosen) chosen of \(half.candidates.count) "
                           + "(tune it again)")
            }
            out[gi] = t.schedule
        }
        for c in TuneCandidates.all(plan) where !seen.contains(plan.groups[c.group].name) {
            throw fail("the tuning has no entry for '\(plan.groups[c.group].name)' (tune it again)")
        }
        return out
    }

    /// The plan's CPU schedule with this tuning's choices.
    public func schedule(_ plan: KernelPlan, file: String) throws -> CPUSchedule {
        Schedule.cpu(plan, overrides: try overrides(plan, file: file))
    }

    /// The JSON text: keys sorted, indented, ending in a newline.
    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        // Every field is a string, a number or a structure of them: encoding cannot fail.
        let data = (try? encoder.encode(self)) ?? Data()
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    /// Reads a tuning file (at most 16 MiB); a missing, unreadable or malformed file is a one-line error.
    public static func read(_ path: String) throws -> Tuning {
        let bytes: [UInt8]
        do {
            bytes = try FolderIO.readAll(path, display: "the tuning file", limit: 1 << 24)
        } catch let e as FolderIO.Failure {
            throw CompileError("\(path): error: \(e.message)")
        }
        return try decode(bytes, file: path)
    }

    static func decode(_ bytes: [UInt8], file: String) throws -> Tuning {
        do {
            return try JSONDecoder().decode(Tuning.self, from: Data(bytes))
        } catch let DecodingError.dataCorrupted(context) {
            throw CompileError("\(file): error: not a tuning file: \(context.debugDescription)")
        } catch let DecodingError.keyNotFound(key, context) {
            throw CompileError("\(file): error: \(what(context)): no '\(key.stringValue)' at \(path(context))")
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
            throw CompileError("\(file): error: \(what(context)): a wrong value at \(path(context))")
        } catch {
            throw CompileError("\(file): error: not a tuning file")
        }
    }

    /// A schedule this cnnc cannot read is most likely one another cnnc wrote (the schedule's forms change between
    /// versions); anything else is not a tuning file.
    private static func what(_ context: DecodingError.Context) -> String {
        context.codingPath.contains { $0.stringValue == "schedule" }
            ? "a schedule this cnnc does not know (tuned by another version of cnnc? tune again)"
            : "not a tuning file"
    }

    private static func path(_ context: DecodingError.Context) -> String {
        let keys = context.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }
        return keys.isEmpty ? "the top" : keys.joined(separator: ".")
    }

    /// Lines for the kernel file's opening comment: where and when the schedule was tuned, and what changed.
    public func summary() -> [String] {
        var lines = ["Schedule tuned by cnnc --tune on \(machine), \(date), batch \(batch), one thread "
                     + "(tuning.json has every candidate's time):"]
        for g in groups {
            for (name, half) in [("forward", g.forward), ("backward", g.backward)] {
                guard let half, half.candidates.count > 1 else { continue }
                let chosen = half.candidates[half.chosen], standard = half.candidates[0]
                lines.append("  \(g.group) \(name): " + (half.chosen == 0
                    ? "standard (\(ms(standard.medianMs)) ms; \(half.candidates.count - 1) other(s) not faster)"
                    : "\(chosen.form) (\(ms(chosen.medianMs)) ms, standard \(ms(standard.medianMs)) ms)"))
            }
        }
        return lines
    }

    func ms(_ x: Double) -> String { String(format: "%.3f", x) }
}
