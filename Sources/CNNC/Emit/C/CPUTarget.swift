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

    public static func generate(_ c: Compilation) throws -> GeneratedPackage {
        let plan = c.plan
        let net = c.network
        guard let last = plan.groups.last, last.op == .softmax else {
            throw CompileError("\(net.sourceFile): error: training needs 'softmax' as the last layer (cross-entropy is computed on it)")
        }
        let emitter = CEmitter(plan: plan)
        let source = (net.sourceFile as NSString).lastPathComponent
        var files: [String: String] = [:]
        files["Package.swift"] = try Template.fill("cpu/Package.swift.template", [
            "name": net.name, "source": source,
            "cflags": "[" + cFlags.map { "\"\($0)\"" }.joined(separator: ", ") + "]",
        ])
        let planText = PlanPrinter.render(plan, batch: net.train.batch).split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.isEmpty ? "//" : "// " + $0 }.joined(separator: "\n")
        files["Sources/Kernels/kernels.c"] = try Template.fill("cpu/kernels.c.template", [
            "name": net.name, "source": source, "plan": planText,
            "kernels": emitter.kernelFunctions(), "steps": emitter.stepFunctions(),
        ])
        files["Sources/Kernels/include/kernels.h"] = emitter.header()
        files["Sources/train/Network.swift"] = try networkSwift(c, emitter: emitter, source: source, classes: last.output.count)
        for path in ["Sources/Kernels/kernels.c", "Sources/Kernels/include/kernels.h", "Sources/train/Network.swift"] {
            files[path] = LineWrap.wrap(files[path]!)
        }
        try addRuntime(to: &files)
        return GeneratedPackage(name: net.name, files: files)
    }

    /// The shared runtime and the zlib module, copied verbatim.
    static func addRuntime(to files: inout [String: String]) throws {
        for path in try Templates.files(in: "runtime") { files["Sources/train/" + (path as NSString).lastPathComponent] = try Templates.text(path) }
        for path in try Templates.files(in: "czlib") { files["Sources/CZlib/" + (path as NSString).lastPathComponent] = try Templates.text(path) }
    }

    static func networkSwift(_ c: Compilation, emitter: CEmitter, source: String, classes: Int) throws -> String {
        let net = c.network, plan = c.plan
        let params = plan.parameters.map { p in
            "        ParamSpec(name: \"\(p.name)\", offset: \(plan.parameterOffsets[p.name]!), layout: \(layoutSwift(p.layout)), initializer: \(initSwift(p.initializer))),"
        }.joined(separator: "\n")
        var allocations: [String] = []
        var perSampleFloats = 0, fixedFloats = 0  // for the trainer's memory check (saturating: it only compares)
        func add(_ total: inout Int, _ n: Int) { let (sum, over) = total.addingReportingOverflow(n); total = over ? .max : sum }
        for s in emitter.storages() where s.name != "input" {
            add(&perSampleFloats, s.elements)
            let kind = s.integer ? "ints" : "floats"
            allocations.append("        buffers.\(s.name) = \(kind)(maxBatch * Int(NET_SIZE_\(s.name.uppercased())))  // \(s.comment)")
        }
        for t in emitter.transposedWeights() {
            add(&fixedFloats, t.elements)
            allocations.append("        buffers.\(t.name) = floats(\(t.elements))  // \(t.comment)")
        }
        return try Template.fill("cpu/Network.swift.template", [
            "name": net.name, "source": source,
            "inputH": "\(net.input.h)", "inputW": "\(net.input.w)", "inputC": "\(net.input.c)", "classes": "\(classes)",
            "epochs": "\(net.train.epochs)", "batch": "\(net.train.batch)",
            "lr": "\(Float(net.train.learningRate))", "momentum": "\(Float(net.train.momentum))", "seed": "\(net.train.seed)",
            "parameterCount": "\(plan.parameterCount)", "parameters": params, "allocations": allocations.joined(separator: "\n"),
            "perSampleFloats": "\(perSampleFloats)", "fixedFloats": "\(fixedFloats)",
        ])
    }

    static func layoutSwift(_ l: ParamLayout) -> String {
        switch l {
        case let .convWeight(oc, c, kh, kw): return ".convWeight(oc: \(oc), c: \(c), kh: \(kh), kw: \(kw))"
        case let .denseWeight(out, h, w, c): return ".denseWeight(out: \(out), inH: \(h), inW: \(w), inC: \(c))"
        case let .channelBias(c): return ".channelBias(c: \(c))"
        case let .elementBias(h, w, c): return ".elementBias(h: \(h), w: \(w), c: \(c))"
        case let .flatBias(h, w, c): return ".flatBias(h: \(h), w: \(w), c: \(c))"
        }
    }

    static func initSwift(_ i: ParamInit) -> String {
        switch i {
        case let .he(fanIn): return ".he(fanIn: \(fanIn))"
        case let .glorot(fanIn, fanOut): return ".glorot(fanIn: \(fanIn), fanOut: \(fanOut))"
        case .zeros: return ".zeros"
        }
    }
}
