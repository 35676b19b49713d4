import Foundation

/// `cnnc compile --tune`: times the candidate schedules of every conv and dense group (`TuneCandidates`) on this
/// machine and chooses the fastest. Timing variant v is the whole kernel file with every group taking its forward
/// and backward candidate v (its standard one where it has fewer), built with the package's C flags together with
/// a harness (`TuneHarness`) that runs training steps on one thread and reports each kernel's seconds per step.
/// The variants run in turn, round after round, each round starting at the next variant, until the time budget is
/// spent, so that a disturbance of the machine falls on all of them alike; kernels are timed by the thread's CPU
/// clock, so that time spent preempted counts for none; a half's time is the median over its steps of its kernels'
/// sum. A candidate replaces the standard one only when its median is faster by `margin`.
///
/// Every variant's loss after one step must match the standard schedule's (the kernels compute the same sums in
/// another order): a variant that does not is an internal error, never a tuning.
public enum Tuner {
    public struct Options: Sendable {
        /// Seconds spent timing (after the builds); at least one round is run.
        public var seconds = 20.0
        /// How much faster than the standard schedule a candidate must be to be chosen: 3%.
        public var margin = 0.03
        /// Seconds one run of a variant aims at (its steps are as many as fit, at least one).
        public var runSeconds = 0.25
        /// Where the private build folder is made; nil: the temporary directory.
        public var temporaryDirectory: String? = nil
        /// The variants to build and time; nil: all. (Tests take fewer.)
        public var variantLimit: Int? = nil
        public init() {}
    }

    /// One timed run's per-step kernel seconds.
    typealias Steps = [[Double]]

    /// Tunes the network; `progress` hears one line per stage (builds, rounds).
    public static func tune(_ c: Compilation, options: Options = Options(),
                            progress: (String) -> Void = { _ in }) throws -> Tuning {
        let plan = c.plan, net = c.network, file = net.sourceFile
        _ = try CPUTarget.softmax(c)
        let candidates = TuneCandidates.all(plan)
        let variants = min(TuneCandidates.variantCount(candidates), max(1, options.variantLimit ?? .max))
        let compiler = try findCompiler()
        let folder = try CheckBuild.TemporaryFolder(parent: options.temporaryDirectory ?? NSTemporaryDirectory(),
                                                    prefix: "cnnc-tune")
        defer { folder.remove() }

        var random = SplitMix64(seed: 1)
        let data = try CheckData(net, plan, batch: net.train.batch, random: &random)
        let dataPath = folder.path + "/data.bin"
        try CheckBuild.write(bytes: TuneHarness.data(data), to: dataPath)
        var dirs: [String] = []
        for v in 0..<variants {
            let schedule = Schedule.cpu(plan, overrides: TuneCandidates.overrides(candidates, variant: v))
            let emitter = CEmitter(plan: plan, schedule: schedule)
            let dir = try folder.subfolder("v\(v)")
            try CheckBuild.write(try CPUTarget.kernelFile(c, emitter, tuning: nil, clock: .thread),
                                 to: dir + "/kernels.c")
            try CheckBuild.write(LineWrap.wrap(emitter.header()), to: dir + "/kernels.h")
            try CheckBuild.write(TuneHarness.source(emitter), to: dir + "/main.c")
            dirs.append(dir)
        }
        progress("building \(variants) timing variant(s) of \(candidates.count) conv and dense layer(s) "
                 + "with \(compiler)")
        let started = Date()
        try CheckBuild.compile(compiler, in: dirs, flags: CPUTarget.cFlags, sources: ["kernels.c", "main.c"],
                               output: "harness", file: file, what: "the tuner's kernels")

        // One step each: the losses must agree, and the step time sets how many steps a run takes.
        var losses: [Double] = [], stepSeconds = 0.0
        for dir in dirs {
            let run = try runHarness(dir, data: dataPath, steps: 1, kernels: plan.kernels.count, file: file)
            stepSeconds = max(stepSeconds, run.times[0].reduce(0, +))
            losses.append(run.loss)
        }
        let tolerance = 1e-3 * max(1, abs(losses[0]))
        for (v, loss) in losses.enumerated().dropFirst() where !(abs(loss - losses[0]) <= tolerance) {
            throw CompileError("\(file): error: internal error in cnnc: timing variant \(v)'s loss \(loss) differs "
                               + "from the standard schedule's \(losses[0])")
        }
        // Clamped before the conversion, which traps on a value past Int's range (a large `runSeconds`).
        let steps = Int(min(1000, max(1, options.runSeconds / max(stepSeconds, 1e-6))))
        progress("built in \(Int(Date().timeIntervalSince(started).rounded())) s; timing \(steps) step(s) per run "
                 + "for \(Int(options.seconds)) s")

        var timed = [Steps](repeating: [], count: variants)
        var rounds = 0
        let clock = Date()
        repeat {
            for i in 0..<variants {
                let v = (rounds + i) % variants
                timed[v] += try runHarness(dirs[v], data: dataPath, steps: steps, kernels: plan.kernels.count,
                                           file: file).times
            }
            rounds += 1
        } while Date().timeIntervalSince(clock) < options.seconds
        progress("timed \(rounds) round(s)")

        let groups = candidates.map { choose($0, plan, timed, margin: options.margin) }
        return Tuning(network: net.name, source: (file as NSString).lastPathComponent, machine: machine(),
                      date: ISO8601DateFormatter().string(from: Date()), batch: data.batch, seconds: options.seconds,
                      variants: variants, rounds: rounds, margin: options.margin, groups: groups)
    }

    /// A group's candidates timed and chosen: per half, the kernels of that half (not a gradient sum, which no
    /// schedule changes) summed per step, over the steps of the variant that ran the candidate.
    static func choose(_ c: TuneCandidates, _ plan: KernelPlan, _ timed: [Steps], margin: Double) -> Tuning.Group {
        let g = plan.groups[c.group]
        func half(_ phase: Phase, _ schedules: [CPUGroupSchedule]) -> (Tuning.Half, Int) {
            let kernels = plan.kernels.indices.filter {
                plan.kernels[$0].group == c.group && plan.kernels[$0].phase == phase
                    && plan.kernels[$0].operands.gradientTerm == nil
            }
            // Candidates past the variants built (a test's `variantLimit`) are left out.
            let timings = schedules.indices.prefix(timed.count).map { v -> Tuning.Candidate in
                let sums = timed[v].map { step in kernels.reduce(0) { $0 + step[$1] } }.sorted()
                return Tuning.Candidate(form: PlanPrinter.describe(schedules[v], phase, g) ?? "fixed",
                                        medianMs: round(1000 * median(sums)),
                                        fastestMs: round(1000 * (sums.first ?? 0)), steps: sums.count)
            }
            var chosen = 0
            for (v, t) in timings.enumerated() where t.medianMs < timings[chosen].medianMs { chosen = v }
            if timings[chosen].medianMs > timings[0].medianMs * (1 - margin) { chosen = 0 }
            return (Tuning.Half(kernels: kernels.map { plan.kernels[$0].name }, chosen: chosen, candidates: timings),
                    chosen)
        }
        let (forward, f) = half(.forward, c.forward)
        let backward = g.needsBackward ? half(.backward, c.backward) : nil
        return Tuning.Group(group: g.name, shape: Tuning.shape(g), forward: forward, backward: backward?.0,
                            schedule: c.schedule(forward: f, backward: backward?.1 ?? 0))
    }

    static func median(_ sorted: [Double]) -> Double {
        guard !sorted.isEmpty else { return 0 }
        let n = sorted.count
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2
    }

    /// Milliseconds to the microsecond.
    static func round(_ ms: Double) -> Double { (ms * 1000).rounded() / 1000 }

    /// The compiler the package's C is built with: clang (SwiftPM's), else cc.
    static func findCompiler() throws -> String {
        if let clang = try? CheckBuild.findTool("clang", purpose: "") { return clang }
        return try CheckBuild.findTool("cc", purpose: "builds the kernels to time them (--tune)",
                                       command: "cnnc compile --tune")
    }

    /// Runs a built variant for `steps` steps: the first step's mean loss and each timed step's kernel seconds.
    static func runHarness(_ dir: String, data: String, steps: Int, kernels: Int,
                           file: String) throws -> (loss: Double, times: Steps) {
        let result = try CheckBuild.run(dir + "/harness", [data, String(steps)])
        let lines = result.output.split(separator: "\n")
        guard result.status == 0, let first = lines.first, first.hasPrefix("loss "),
              let loss = Double(first.dropFirst(5)), lines.count == steps + 1 else {
            let why = result.output.split(separator: "\n").first.map(String.init) ?? "exit status \(result.status)"
            throw CompileError("\(file): error: the tuner's kernels failed: \(why)")
        }
        let times = try lines.dropFirst().map { line -> [Double] in
            // A time that is not a finite count of seconds (`nan`, `inf` parse as doubles) would poison the medians
            // and the steps per run.
            let row = line.split(separator: " ").compactMap { Double($0) }
            guard row.count == kernels, row.allSatisfy({ $0.isFinite && $0 >= 0 }) else {
                throw CompileError("\(file): error: the tuner's kernels wrote no complete times")
            }
            return row
        }
        return (loss, times)
    }

    /// The CPU's name from /proc/cpuinfo (`model name`), else the machine's architecture.
    static func machine() -> String {
        if let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
           let line = text.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
           let colon = line.firstIndex(of: ":") {
            let name = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            if !name.isEmpty { return name }
        }
        var u = utsname()
        uname(&u)
        return withUnsafeBytes(of: &u.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }
}
