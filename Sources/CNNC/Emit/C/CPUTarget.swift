import CNNCRuntimeFiles
import CNNCTemplates
import Foundation

/// The files of a generated trainer package, by relative path.
public struct GeneratedPackage: Sendable {
    public var name: String
    public var files: [String: String]
}

/// The CPU target: C kernels from the kernel plan, the Swift driver that runs them, and the shared runtime.
public enum CPUTarget {
    /// Flags the generated package compiles its C kernels with: optimized for the machine it is built on,
    /// with reassociation allowed so that reductions vectorize (NaN and infinity semantics are kept), and full-width
    /// vectors: clang's default for Intel cores with AVX-512 is 256-bit loops, which halves the FMA peak there.
    public static let cFlags = ["-O3", "-march=native", "-mprefer-vector-width=512", "-ffp-contract=fast", "-fno-math-errno", "-fno-trapping-math",
                                "-fassociative-math", "-fno-signed-zeros", "-Wall", "-Wextra"]

    /// `distributed`: a trainer that also runs as the ranks of an `mpirun` job (`cnnc compile --distributed mpi`),
    /// linking Open MPI; otherwise the package needs nothing but the toolchain, zlib and libpng. `tuning`: a
    /// tuning's choices of the conv and dense schedules (checked against the plan; errors name `tuningFile`), written
    /// into the package as `tuning.json` and summed up in kernels.c's opening comment; nil: the standard schedule
    /// (`Schedule.cpu`).
    public static func generate(_ c: Compilation, distributed: Bool = false, tuning: Tuning? = nil,
                                tuningFile: String = "tuning.json") throws -> GeneratedPackage {
        let plan = c.plan
        let net = c.network
        let last = try softmax(c)
        if distributed { try Distributed.check(net) }
        let emitter = CEmitter(plan: plan, schedule: try tuning?.schedule(plan, file: tuningFile))
        var files: [String: String] = [:]
        files["Package.swift"] = try Template.fill("cpu/Package.swift.template", packageProvenance(net).merging([
            "cflags": "[" + cFlags.map(Spelling.swiftString).joined(separator: ", ") + "]",
            "mpiTarget": distributed ? Distributed.packageTarget : "",
            "mpiDependency": distributed ? Distributed.dependency : "",
        ]) { $1 })
        files["Sources/Kernels/kernels.c"] = try kernelFile(c, emitter, tuning: tuning)
        if let tuning { files["tuning.json"] = tuning.json() }
        files["Sources/Kernels/include/kernels.h"] = emitter.header()
        files[librarySources + "Network.swift"] = try networkSwift(c, emitter: emitter, classes: last.output.count)
        for path in ["Sources/Kernels/include/kernels.h", librarySources + "Network.swift"] {
            files[path] = LineWrap.wrap(files[path]!)
        }
        try addRuntime(to: &files, net, distributed: distributed)
        return GeneratedPackage(name: net.name, files: files)
    }

    /// The clock kernels.c's profile reads: the wall clock in the package; the thread's CPU clock in the tuner's
    /// timing builds, so that time the harness spends preempted on a shared machine counts for no kernel.
    enum KernelClock: String {
        case wall = "CLOCK_MONOTONIC"
        case thread = "CLOCK_THREAD_CPUTIME_ID"
    }

    /// The plan's last group, the softmax that the trainer's cross-entropy (and the tuner's timed step) reads; an
    /// error naming the source file where the network does not end in one.
    static func softmax(_ c: Compilation) throws -> FusedGroup {
        guard let last = c.plan.groups.last, last.op == .softmax else {
            throw CompileError("\(c.network.sourceFile): error: training needs 'softmax' as the last layer "
                               + "(cross-entropy is computed on it)")
        }
        return last
    }

    /// kernels.c: the plan as `cnnc plan` prints it (naming the source file but not the user's path to it) as its
    /// opening comment, with the tuned schedule where there is a tuning, then the kernels and the step functions.
    static func kernelFile(_ c: Compilation, _ emitter: CEmitter, tuning: Tuning?,
                           clock: KernelClock = .wall) throws -> String {
        var shown = c.plan
        shown.network.sourceFile = (c.network.sourceFile as NSString).lastPathComponent
        var text = PlanPrinter.render(shown, batch: c.network.train.batch)
        if let tuning {
            text += "\n" + tuning.summary().joined(separator: "\n") + "\n\n"
                + PlanPrinter.renderSchedule(shown, cpu: emitter.schedule)
        }
        let planText = text.split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.isEmpty ? "//" : "// " + Spelling.comment(String($0)) }.joined(separator: "\n")
        let holes = provenance(c.network, ["nameComment", "sourceComment"])
        return LineWrap.wrap(try Template.fill("cpu/kernels.c.template", holes.merging([
            "plan": planText, "clock": clock.rawValue, "helpers": try Templates.text("cpu/kernel-helpers.c.template"),
            "kernels": emitter.kernelFunctions(), "steps": emitter.stepFunctions(),
        ]) { $1 }))
    }

    /// The template holes that name the network, its source file and the cnnc that generated it: the name and the
    /// file's last path component as Swift string literals and as comment text (never the user's path, never
    /// unescaped), and `CNNCVersion.current` as a Swift string literal. `holes` picks the ones a template has.
    static func provenance(_ net: Network, _ holes: Set<String> = ["nameLiteral", "nameComment", "sourceLiteral",
                                                                   "sourceComment", "cnncVersionLiteral"])
        -> [String: String] {
        let source = (net.sourceFile as NSString).lastPathComponent
        return ["nameLiteral": Spelling.swiftString(net.name), "nameComment": Spelling.comment(net.name),
                "sourceLiteral": Spelling.swiftString(source), "sourceComment": Spelling.comment(source),
                "cnncVersionLiteral": Spelling.swiftString(CNNCVersion.current)]
            .filter { holes.contains($0.key) }
    }

    /// The holes of both targets' Package.swift: provenance and the library's module name (Symbols.moduleName)
    /// as a string literal and as comment text.
    static func packageProvenance(_ net: Network) -> [String: String] {
        let module = Symbols.moduleName(net.name)
        return provenance(net, ["nameLiteral", "nameComment", "sourceComment"]).merging([
            "moduleLiteral": Spelling.swiftString(module), "moduleComment": Spelling.comment(module),
        ]) { $1 }
    }

    /// The folder of the library target (named Symbols.moduleName): Network.swift, the runtime and Library.swift.
    /// `train` and `predict` are executables of one generated main.swift each, which import it.
    static let librarySources = "Sources/Network/"

    /// A parameter's entry in NetworkInfo.parameters; its name is the checkpoint's tensor name, the user's spelling.
    static func paramSpec(_ p: Parameter, plan: KernelPlan) -> String {
        "            ParamSpec(name: \(Spelling.swiftString(p.name)), offset: \(plan.parameterOffsets[p.name]!), "
            + "layout: \(layoutSwift(p.layout)), initializer: \(initSwift(p.initializer))"
            + (p.isBuffer ? ", buffer: true)," : "),")
    }

    /// The shared runtime (Runtime/trainer) and the zlib and libpng modules, copied verbatim; Library.swift, which
    /// binds the runtime's public `Model` and the tools' entry points to the package's `Network`; and the
    /// main.swift of `train` and of `predict`, which call those entry points. `distributed`: the Open MPI module
    /// and team too (Distributed.swift), joined by the train tool's entry point.
    static func addRuntime(to files: inout [String: String], _ net: Network, distributed: Bool = false) throws {
        for (name, text) in try RuntimeFiles.files(in: "trainer") { files[librarySources + name] = text }
        for (name, text) in try RuntimeFiles.files(in: "czlib") { files["Sources/CZlib/" + name] = text }
        for (name, text) in try RuntimeFiles.files(in: "cpng") { files["Sources/CPNG/" + name] = text }
        if distributed { try Distributed.addRuntime(to: &files) }
        let holes = provenance(net, ["nameComment", "sourceComment"])
        let module = ["module": Symbols.moduleName(net.name)]  // an identifier: [A-Za-z0-9_], not a keyword
        files[librarySources + "Library.swift"] = try Template.fill("library.swift.template", holes.merging(
            ["team": distributed ? Distributed.teamArgument : ""]) { $1 })
        files["Sources/train/main.swift"] = try Template.fill("main.swift.template", holes.merging(module) { $1 })
        files["Sources/predict/main.swift"] = try Template.fill("predict.swift.template", holes.merging(module) { $1 })
    }

    static func networkSwift(_ c: Compilation, emitter: CEmitter, classes: Int) throws -> String {
        let net = c.network, plan = c.plan
        let params = plan.parameters.map { paramSpec($0, plan: plan) }.joined(separator: "\n")
        var allocations: [String] = []
        var perSampleFloats = 0, fixedFloats = 0  // for the trainer's memory check (saturating: it only compares)
        func add(_ total: inout Int, _ n: Int) { let (sum, over) = total.addingReportingOverflow(n); total = over ? .max : sum }
        for s in emitter.storages() where s.name != "input" {
            if s.perBatch {
                add(&fixedFloats, s.elements)
                allocations.append("        buffers.\(s.name) = floats(Int(NET_SIZE_\(s.name.uppercased())))  "
                                   + "// \(Spelling.comment(s.comment))")
                continue
            }
            add(&perSampleFloats, s.elements)
            let kind = s.integer ? "ints" : "floats"
            allocations.append("        buffers.\(s.name) = \(kind)(maxBatch * Int(NET_SIZE_\(s.name.uppercased())))  "
                               + "// \(Spelling.comment(s.comment))")
        }
        for t in emitter.transposedWeights() {
            add(&fixedFloats, t.elements)
            allocations.append("        buffers.\(t.name) = floats(\(t.elements))  // \(Spelling.comment(t.comment))")
        }
        return try Template.fill("cpu/Network.swift.template", provenance(net).merging([
            "inputH": "\(net.input.h)", "inputW": "\(net.input.w)", "inputC": "\(net.input.c)", "classes": "\(classes)",
            "epochs": "\(net.train.epochs)", "batch": "\(net.train.batch)",
            "lr": "\(Float(net.train.learningRate))", "optimizer": CPUTarget.optimizerSwift(net.train.optimizer), "seed": "\(net.train.seed)",
            "schedule": CPUTarget.scheduleSwift(net.train.schedule), "warmup": "\(net.train.warmup)",
            "augmentation": "Augmentation(hflip: \(net.train.augmentation.hflip), crop: \(net.train.augmentation.crop))",
            "parameterCount": "\(plan.parameterCount)", "parameters": params, "allocations": allocations.joined(separator: "\n"),
            "perSampleFloats": "\(perSampleFloats)", "fixedFloats": "\(fixedFloats)",
        ]) { $1 })
    }

    /// The `train` statement's optimizer as the runtime's `OptimizerSettings`, in Swift: the kind, and the values
    /// that differ from PyTorch's defaults (which are the initializer's).
    static func optimizerSwift(_ o: Optimizer) -> String {
        let d = Optimizer()
        var arguments = ["kind: .\(o.kind.rawValue)"]
        for (label, value, standard) in [("momentum", o.momentum, d.momentum), ("beta1", o.beta1, d.beta1),
                                         ("beta2", o.beta2, d.beta2), ("eps", o.eps, d.eps)] where value != standard {
            arguments.append("\(label): \(Float(value))")
        }
        if let decay = o.weightDecay { arguments.append("weightDecay: \(Float(decay))") }
        return "OptimizerSettings(\(arguments.joined(separator: ", ")))"
    }

    /// The `train` statement's schedule as the runtime's `TrainerSchedule`, in Swift.
    static func scheduleSwift(_ s: LearningRateSchedule) -> String {
        switch s {
        case .constant: return ".constant"
        case let .step(every, gamma): return ".step(every: \(every), gamma: \(gamma))"
        case .cosine: return ".cosine"
        }
    }

    static func layoutSwift(_ l: ParamLayout) -> String {
        switch l {
        case let .convWeight(oc, c, kh, kw): return ".convWeight(oc: \(oc), c: \(c), kh: \(kh), kw: \(kw))"
        case let .denseWeight(out, h, w, c): return ".denseWeight(out: \(out), inH: \(h), inW: \(w), inC: \(c))"
        case let .channelBias(c): return ".channelBias(c: \(c))"
        case let .elementBias(h, w, c): return ".elementBias(h: \(h), w: \(w), c: \(c))"
        case let .flatBias(h, w, c): return ".flatBias(h: \(h), w: \(w), c: \(c))"
        case .counter: return ".counter"
        }
    }

    static func initSwift(_ i: ParamInit) -> String {
        switch i {
        case let .he(fanIn): return ".he(fanIn: \(fanIn))"
        case let .glorot(fanIn, fanOut): return ".glorot(fanIn: \(fanIn), fanOut: \(fanOut))"
        case .zeros: return ".zeros"
        case .ones: return ".ones"
        }
    }
}
