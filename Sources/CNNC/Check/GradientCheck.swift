import Foundation

/// `cnnc check`: every gradient the CPU kernels compute, against central finite differences of the loss. The
/// network's kernels are printed in double precision (CDouble), built with the system C compiler together with a
/// small driver (CheckDriver) in a temporary folder of their own, and run on one random batch (fixed seed, random
/// labels). Up to `samples` elements of every parameter tensor and of the input are probed.
///
/// The input's gradient needs a plan that computes it (a trainer's does not), so the kernels are built twice:
/// as the trainer has them, for the parameters, and with the input's gradient planned, for the input.
public enum GradientCheck {
    public enum Target: String, Sendable, CaseIterable { case cpu, vulkan }

    public struct Options: Sendable {
        /// cpu: the C kernels by finite differences; vulkan: also the GLSL kernels against the C kernels.
        public var target = Target.cpu
        /// Samples in the random batch; nil: 2, or 8 for a network with batchnorm (whose statistics over two
        /// values leave its output nearly constant, so that finite differences keep few digits).
        public var batch: Int? = nil
        /// Elements probed per tensor; every element of a tensor that has no more.
        public var samples = 12
        public var seed: UInt64 = 1
        public var tolerance = 1e-5
        /// Where the private build folder is made; nil: the temporary directory.
        public var temporaryDirectory: String? = nil
        /// The tuner's timing variant the kernels take (`TuneCandidates.overrides`): every conv and dense group its
        /// forward and backward candidate `variant`, or its standard one where it has fewer; 0: the standard
        /// schedule. The tests check every candidate's gradients this way.
        public var variant = 0
        public init() {}
    }

    /// One tensor's result: the largest relative error over its probed elements.
    public struct Row: Sendable {
        public var layer: String
        public var tensor: String
        public var elements: Int
        public var checked: Int
        /// Probed elements whose analytic gradient is not zero.
        public var nonzero: Int
        public var maxError: Double
        /// `--target vulkan`: the largest relative error of the Vulkan trainer's gradient against the double CPU
        /// kernels' (nil for the input, whose gradient the Vulkan trainer does not compute).
        public var vulkanError: Double?
        /// The element (flat index) with the largest error.
        public var worst: Int
    }

    public struct Result: Sendable {
        public var rows: [Row]
        public var options: Options
        public var passed: Bool { failing.isEmpty }
        /// The tensors above a tolerance.
        public var failing: [Row] {
            rows.filter { $0.maxError > options.tolerance || ($0.vulkanError ?? 0) > CheckVulkan.tolerance }
        }
    }

    /// Checks the network in `source` (the text of `file`). `editKernels` changes the double kernel file before
    /// it is built: the tests use it to break a gradient and see the check fail.
    public static func run(source: [UInt8], file: String, options: Options,
                           editKernels: (String) -> String = { $0 }) throws -> Result {
        let trainer = try Compilation(source: source, file: file)
        let withInput = try Compilation(source: source, file: file, inputGradient: true)
        guard let last = trainer.plan.groups.last, last.op == .softmax else {
            throw CompileError("\(file): error: checking gradients needs 'softmax' as the last layer (the loss is "
                               + "cross-entropy on it)")
        }
        let compiler = try CheckBuild.findCompiler()
        let folder = try CheckBuild.TemporaryFolder(parent: options.temporaryDirectory ?? NSTemporaryDirectory())
        defer { folder.remove() }

        let net = trainer.network, offsets = trainer.plan.parameterOffsets
        var options = options
        let normalizes = net.layers.contains { if case .batchnorm = $0.op { true } else { false } }
        let batch = options.batch ?? (normalizes ? 8 : 2)
        options.batch = batch
        var random = SplitMix64(seed: options.seed)
        let data = try CheckData(net, trainer.plan, batch: batch, random: &random)
        let inputCount = try checked(Checked.product(batch, net.input.count), "input elements")
        let gradientCount = try checked(Checked.sum(trainer.plan.parameterCount, inputCount), "gradients")
        // The tensors, each with the variant that computes its gradient (0: the trainer's plan, 1: with the
        // input's gradient) and where its gradient starts in the driver's gradients file.
        var tensors: [(layer: String, name: String, count: Int, variant: Int, start: Int)] = []
        for layer in net.layers {
            for p in layer.parameters { tensors.append((layer.name, p.name, p.count, 0, offsets[p.name]!)) }
        }
        tensors.append(("(input)", Network.inputTensor, inputCount, 1, trainer.plan.parameterCount))

        var dirs: [String] = []
        for (name, plan) in [("parameters", trainer.plan), ("input", withInput.plan)] {
            let overrides = TuneCandidates.overrides(TuneCandidates.all(plan), variant: options.variant)
            let emitter = CEmitter(plan: plan, schedule: Schedule.cpu(plan, overrides: overrides))
            let dir = try folder.subfolder(name)
            try CheckBuild.write(editKernels(try CDouble.kernels(emitter)), to: dir + "/kernels.c")
            try CheckBuild.write(try CDouble.header(emitter), to: dir + "/kernels.h")
            try CheckBuild.write(try CheckDriver.source(emitter), to: dir + "/driver.c")
            dirs.append(dir)
        }
        try CheckBuild.compile(compiler, in: dirs, file: file)
        // A first run for every analytic gradient, then the probes: half of them uniform over the tensor, half
        // among its elements with a nonzero gradient (behind a ReLU most can be zero, and a zero that should be
        // zero says little).
        let analytic = try dirs.enumerated().map { v, dir in
            try CheckBuild.runDriver(in: dir, run: 0, data: data.file(probes: []), probes: 0, gradients: gradientCount,
                                     file: file).gradients
        }
        var probes: [[Int64]] = [[], []], owner: [[Int]] = [[], []]
        var rows: [Row] = []
        for (ti, t) in tensors.enumerated() {
            let gradient = analytic[t.variant][t.start..<(t.start + t.count)]
            let nonzero = gradient.indices.filter { gradient[$0] != 0 }.map { $0 - t.start }
            let chosen = pick(t.count, options.samples, preferring: nonzero, &random)
            for i in chosen { probes[t.variant] += [Int64(t.variant), Int64(t.variant == 0 ? t.start + i : i)] }
            owner[t.variant] += Array(repeating: ti, count: chosen.count)
            rows.append(Row(layer: t.layer, tensor: t.name, elements: t.count, checked: chosen.count,
                            nonzero: chosen.filter { gradient[t.start + $0] != 0 }.count, maxError: 0, worst: 0))
        }
        var results: [(tensor: Int, element: Int, row: [Double])] = []
        for (v, dir) in dirs.enumerated() {
            let r = try CheckBuild.runDriver(in: dir, run: 1, data: data.file(probes: probes[v]),
                                             probes: owner[v].count, gradients: gradientCount, file: file).rows
            for (k, row) in r.enumerated() {
                let t = tensors[owner[v][k]], index = Int(probes[v][2 * k + 1])
                results.append((owner[v][k], t.variant == 0 ? index - t.start : index, row))
            }
        }

        // Per tensor, each element's error relative to the larger of its two gradients, with a floor of a
        // hundredth of the tensor's largest analytic gradient (an element whose gradient is near zero has no
        // meaningful relative error); of the two step sizes, the better one (a step that crosses a kink of
        // ReLU or max pooling is wrong, the smaller one rarely crosses it).
        var scale = [Double](repeating: 0, count: rows.count)
        for r in results { scale[r.tensor] = max(scale[r.tensor], abs(r.row[0])) }
        var seen = [Bool](repeating: false, count: rows.count)
        for r in results {
            let a = r.row[0], floor = max(scale[r.tensor] * 1e-2, 1e-12)
            let error = r.row.dropFirst().map { abs(a - $0) / max(abs(a), abs($0), floor) }.min()!
            let e = error.isNaN ? Double.infinity : error
            if !seen[r.tensor] || e > rows[r.tensor].maxError {
                rows[r.tensor].maxError = e
                rows[r.tensor].worst = r.element
            }
            seen[r.tensor] = true
        }
        if options.target == .vulkan {
            let parameters = trainer.plan.parameterCount
            let vulkan = try CheckVulkan.errors(trainer, data: data, reference: analytic[0][0..<parameters],
                                                in: try folder.subfolder("vulkan"), file: file)
            for (i, e) in vulkan.errors.enumerated() { rows[i].vulkanError = e }
        }
        return Result(rows: rows, options: options)
    }

    /// `count` distinct indices below `n` (all of them when n <= count), in increasing order: half uniform, the
    /// rest drawn from `preferred` where it has enough, uniform again where it does not.
    static func pick(_ n: Int, _ count: Int, preferring preferred: [Int], _ random: inout SplitMix64) -> [Int] {
        guard n > count else { return Array(0..<n) }
        var chosen = Set(sample(n, (count + 1) / 2, &random))
        let candidates = preferred.filter { !chosen.contains($0) }
        for i in sample(candidates.count, min(count - chosen.count, candidates.count), &random) {
            chosen.insert(candidates[i])
        }
        while chosen.count < count { chosen.insert(Int(random.next() % UInt64(n))) }
        return chosen.sorted()
    }

    /// A size that fits in 64 bits, or an error naming it.
    static func checked(_ value: Int?, _ what: String) throws -> Int {
        guard let value else { throw CompileError("error: \(what) do not fit in 64 bits") }
        return value
    }

    /// `count` distinct indices below `n` in increasing order (all of them when n <= count), Floyd's sampling.
    static func sample(_ n: Int, _ count: Int, _ random: inout SplitMix64) -> [Int] {
        guard n > count else { return Array(0..<n) }
        var chosen = Set<Int>()
        for j in (n - count)..<n {
            let t = Int(random.next() % UInt64(j + 1))
            chosen.insert(chosen.contains(t) ? j : t)
        }
        return chosen.sorted()
    }

    /// The table `cnnc check` prints: one line per tensor, then the verdict.
    public static func render(_ r: Result, file: String) -> String {
        let o = r.options
        var lines = ["\(Spelling.fileName(file)): gradients of the CPU kernels (in double precision) against central "
                     + "differences of the loss,",
                     "batch \(o.batch ?? 0), seed \(o.seed), up to \(o.samples) elements per tensor"]
        let vulkan = o.target == .vulkan
        let failing = Set(r.failing.map(\.tensor))
        let header = ["layer", "tensor", "elements", "checked", "nonzero", "max rel. error", "worst element"]
            + (vulkan ? ["vulkan vs cpu"] : [])
        let body = r.rows.map { row in
            [row.layer, row.tensor, "\(row.elements)", "\(row.checked)", "\(row.nonzero)", format(row.maxError),
             "\(row.worst)"] + (vulkan ? [row.vulkanError.map(format) ?? "-"] : [])
                + (failing.contains(row.tensor) ? ["FAIL"] : [])
        }
        let widths = (header.indices.map { c in ([header] + body).map { $0[c].count }.max()! }) + [4]
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { c, s in
                c < 2 ? s.padding(toLength: widths[c], withPad: " ", startingAt: 0)
                    : String(repeating: " ", count: widths[c] - s.count) + s
            }.joined(separator: "  ")
        }
        lines.append("")
        lines.append(line(header))
        lines += body.map(line)
        lines.append("")
        let failed = r.failing
        let tolerances = "tolerance \(format(o.tolerance))"
            + (vulkan ? ", vulkan vs cpu \(format(CheckVulkan.tolerance)) (float32 against the checked float64)" : "")
        lines.append(failed.isEmpty
            ? "\(tolerances): all \(r.rows.count) tensors pass"
            : "\(tolerances): \(failed.count) of \(r.rows.count) tensors fail: "
                + failed.map(\.tensor).joined(separator: ", "))
        return lines.joined(separator: "\n") + "\n"
    }

    static func format(_ x: Double) -> String {
        x.isFinite ? String(format: "%.1e", x) : "\(x)"
    }
}

/// A small seeded generator (SplitMix64): the same seed gives the same batch and the same probes everywhere.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE5_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    mutating func unit() -> Double { Double(next() >> 11) * 0x1p-53 }
}
