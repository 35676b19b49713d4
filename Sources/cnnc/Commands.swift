import ArgumentParser
import CNNC
import Foundation

struct Plan: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the kernel plan: the fused kernels of the forward pass, the loss, the backward pass and the update, with their buffers and lifetimes.")

    @Argument(help: "The network, a .cnn file.", completion: .file(extensions: ["cnn"])) var file: String
    @Option(help: "Batch size for the memory figures (default: the network's train batch).") var batch: Int?
    @Flag(help: "Also print the target-neutral lowered form of each kernel that both printers spell.")
    var lowered = false
    @Option(help: "Print the CPU schedule a tuning chose (a tuning.json that cnnc compile --tune wrote).",
            completion: .file(extensions: ["json"]))
    var tuning: String?
    @Option(help: "With vulkan, also list every dispatch of one training step: its phase, invocations and workgroups.")
    var target: Compile.Target = .cpu

    func validate() throws {
        if let batch, batch < 1 || batch > Limits.maxBatch {
            throw ValidationError("--batch must be between 1 and \(Limits.maxBatch)")
        }
    }

    func run() throws {
        let c = try reporting { try Compilation(path: file) }
        let schedule = try reporting { try tuning.map { try Tuning.read($0).schedule(c.plan, file: $0) } }
        print(PlanPrinter.render(c.plan, batch: batch ?? c.network.train.batch), terminator: "")
        print("\n" + PlanPrinter.renderSchedule(c.plan, cpu: schedule), terminator: "")
        if lowered { print("\n" + PlanPrinter.renderLowered(c.plan), terminator: "") }
        if target == .vulkan {
            let text = try reporting { try PlanPrinter.renderDispatches(c.plan, batch: batch ?? c.network.train.batch) }
            print("\n" + text, terminator: "")
        }
    }
}

struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Infer every shape and print a per-layer table of sizes, parameters and multiply-accumulates, with totals and memory.")

    @Argument(help: "The network, a .cnn file.", completion: .file(extensions: ["cnn"])) var file: String
    @Option(help: "Output format: text, markdown or json.") var format: ReportFormat = .text
    @Option(help: "Batch size for the memory figures (default: the network's train batch).") var batch: Int?

    func validate() throws {
        if let batch, batch < 1 || batch > Limits.maxBatch {
            throw ValidationError("--batch must be between 1 and \(Limits.maxBatch)")
        }
    }

    func run() throws {
        let c = try reporting { try Compilation(path: file) }
        print(ReportRenderer.render(c, format: format, batch: batch ?? c.network.train.batch), terminator: "")
    }
}

extension ReportFormat: ExpressibleByArgument {}
extension GradientCheck.Target: ExpressibleByArgument {}

struct Graph: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the network's graph as Graphviz DOT: layers as nodes, shapes on the edges, fused kernels as clusters.",
        discussion: "Draw it with `cnnc graph NET.cnn | dot -Tsvg > NET.svg`, or let cnnc run Graphviz's dot: "
            + "`cnnc graph NET.cnn --format svg -o NET.svg` (Debian: apt-get install graphviz).")

    @Argument(help: "The network, a .cnn file.", completion: .file(extensions: ["cnn"])) var file: String
    @Option(help: "Output format: dot (Graphviz's text) or svg (drawn by Graphviz's dot, found on PATH).")
    var format: GraphFormat = .dot
    @Option(name: .shortAndLong, help: "Output file (default: standard output); replaces only a graph cnnc wrote.",
            completion: .file(extensions: ["dot", "svg"]))
    var output: String?

    func run() throws {
        let c = try reporting { try Compilation(path: file) }
        let searchPath = ProcessInfo.processInfo.environment["PATH"]
        let bytes = try reporting { try GraphPrinter.render(c, format: format, searchPath: searchPath) }
        guard let output else {
            FileHandle.standardOutput.write(Data(bytes))
            return
        }
        try reporting { try GraphPrinter.write(bytes, to: output) }
        print("wrote \(output) (\(format.rawValue) graph of \(c.network.name): \(c.network.layers.count + 1) nodes)")
    }
}

extension GraphFormat: ExpressibleByArgument {}

struct Compile: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compile a network into a standalone Swift package that trains it.",
        discussion: "Build the result with `swift build -c release --package-path DIR` and run `DIR/.build/release/train --help`.")

    enum Target: String, ExpressibleByArgument, CaseIterable { case cpu, vulkan }

    @Argument(help: "The network, a .cnn file.", completion: .file(extensions: ["cnn"])) var file: String
    @Option(help: "The target: cpu (C kernels) or vulkan (GLSL compute shaders).") var target: Target = .cpu
    enum DistributedMode: String, ExpressibleByArgument, CaseIterable { case mpi }
    @Option(help: ArgumentHelp("Also run the trainer as the ranks of an mpirun job (Open MPI; cpu target): "
        + "data-parallel, the same weights for any number of ranks with the same --chunks (see README).",
        valueName: "mpi")) var distributed: DistributedMode?
    @Option(name: .shortAndLong, help: "Output folder (default: NAME-TARGET).", completion: .directory)
    var output: String?
    @Flag(help: "Replace generated files even where they were changed since cnnc wrote them, or were not written by cnnc.")
    var force = false
    @Flag(help: ArgumentHelp("Time the candidate schedules of every conv and dense layer on this machine and build "
                             + "the fastest (cpu; records them in the package's tuning.json)."))
    var tune = false
    @Option(help: "With --tune: seconds spent timing, after the builds (default 20).")
    var tuneSeconds: Double?
    @Option(help: "Build the schedules a tuning chose, without timing (a tuning.json that --tune wrote).",
            completion: .file(extensions: ["json"]))
    var tuning: String?

    /// Options that exclude each other are a usage error (exit 64), found before any work.
    func validate() throws {
        if tune && tuning != nil { throw ValidationError("--tune and --tuning cannot be used together") }
        if (tune || tuning != nil) && target != .cpu {
            throw ValidationError("--tune and --tuning apply to --target cpu only")
        }
        if distributed != nil && target != .cpu {
            throw ValidationError("--distributed mpi needs --target cpu (the Vulkan trainer runs in one process)")
        }
        if let tuneSeconds {
            guard tune else { throw ValidationError("--tune-seconds applies to --tune only") }
            if !(tuneSeconds >= 1 && tuneSeconds <= 3600) {
                throw ValidationError("--tune-seconds must be between 1 and 3600")
            }
        }
    }

    func run() throws {
        let c = try reporting { try Compilation(path: file) }
        let dir = output ?? "\(c.network.name)-\(target.rawValue)"
        try reporting {
            switch target {
            case .cpu:
                var recorded = try tuning.map(Tuning.read)
                if tune {
                    var options = Tuner.Options()
                    options.seconds = tuneSeconds ?? options.seconds
                    let result = try Tuner.tune(c, options: options) {
                        FileHandle.standardError.write(Data("cnnc: tune: \($0)\n".utf8))
                    }
                    print(result.summary().joined(separator: "\n"))
                    recorded = result
                }
                try PackageWriter.write(try CPUTarget.generate(c, distributed: distributed != nil, tuning: recorded,
                                                                   tuningFile: tuning ?? "tuning.json"),
                                        to: dir, force: force)
            case .vulkan:
                try VulkanTarget.write(c, to: dir, force: force)
            }
        }
        print("wrote \(dir) (\(target.rawValue) trainer of \(c.network.name)); build it with: swift build -c release --package-path \(dir)")
    }
}

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Export a trained network to a model file other tools run (ONNX), or to C source for inference.",
        discussion: "Reads the network and a checkpoint its trainer saved (--save); see Docs/export.md. "
            + "--format c writes a folder with NAME.h, NAME.c (C99: the CPU target's forward kernels, the weights "
            + "as constants, NAME_predict) and example.c.")

    enum Format: String, ExpressibleByArgument, CaseIterable { case onnx, c }

    @Argument(help: "The network, a .cnn file.", completion: .file(extensions: ["cnn"])) var file: String
    @Option(help: "The checkpoint: a safetensors file the trainer wrote with --save.",
            completion: .file(extensions: ["safetensors"]))
    var weights: String
    @Option(help: "The format: onnx (one model file) or c (a folder of C source).") var format: Format = .onnx
    @Option(name: .shortAndLong, help: "Output file (default: NAME.onnx), or folder for c (default: NAME-c).",
            completion: .file())
    var output: String?
    @Option(help: "With --format c: the samples NAME_predict runs at a time, the size of its workspace (default 1).")
    var batch: Int?

    func validate() throws {
        if let batch {
            guard format == .c else { throw ValidationError("--batch applies to --format c only") }
            if batch < 1 || batch > CExport.maxBatch { throw ValidationError("--batch must be between 1 and \(CExport.maxBatch)") }
        }
    }

    func run() throws {
        let c = try reporting { try Compilation(path: file) }
        if format == .c {
            let dir = output ?? "\(c.network.name)-c"
            let written = try reporting { try CExport.export(c, weightsPath: weights, to: dir, batch: batch ?? 1) }
            print("wrote \(written.files.joined(separator: ", ")) (C inference of \(c.network.name): \(written.parameters) "
                + "parameters, \(written.prefix)_predict); build the example with: cc -std=c99 -O3 -march=native -o \(dir)/example "
                + "\(dir)/example.c \(dir)/\(written.prefix).c -lm")
            return
        }
        let path = output ?? "\(c.network.name).onnx"
        let model = try reporting { try ONNXExport.export(c, weightsPath: weights, to: path) }
        print("wrote \(path) (ONNX opset \(model.opsetVersion), \(model.graph.nodes.count) nodes, input [N, "
            + "\(c.network.input.c), \(c.network.input.h), \(c.network.input.w)], output probabilities [N, \(c.network.output.count)])")
    }
}

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check every gradient the CPU kernels compute against central finite differences of the loss.",
        discussion: """
            Prints, per parameter tensor and for the input, the largest relative error over the probed elements, \
            and exits 1 where one exceeds the tolerance. The network's C kernels are built in double precision \
            (float spelled double, the same loops) with the system C compiler (`cc`) in a temporary folder that \
            is removed afterwards, and run on one random batch with random labels; each probed element's \
            gradient is compared with (loss(x + h) - loss(x - h)) / 2h for h = 1e-5 and 1e-6 (times max(1, |x|)), \
            the better of the two counting (a step across a ReLU or max-pool kink is wrong, the smaller one \
            rarely crosses it). An element's error is relative to the larger of its two gradients, at least a \
            hundredth of the tensor's largest gradient. With --target vulkan, cnnc also builds the Vulkan trainer \
            (swift build) and compares the float32 gradients of its GLSL kernels, on the same batch and \
            parameters, with those of the double CPU kernels that the same run checks by finite differences, \
            within 1e-4: differences of the float32 shaders' own loss could promise only a few digits. See \
            Docs/check.md.
            """)

    @Argument(help: "The network, a .cnn file.", completion: .file(extensions: ["cnn"])) var file: String
    @Option(help: "cpu (the C kernels) or vulkan (also the GLSL kernels, against the C kernels).")
    var target: GradientCheck.Target = .cpu
    @Option(help: "Samples in the random batch (default 2, or 8 for a network with batchnorm).") var batch: Int?
    @Option(help: "Elements probed per tensor (every element of a smaller tensor).") var samples = 12
    @Option(help: "Seed of the batch, the labels, the parameters and the probed elements.") var seed: UInt64 = 1
    @Option(help: "The largest relative error that passes.") var tolerance = 1e-5

    func validate() throws {
        if let batch, batch < 1 || batch > 64 { throw ValidationError("--batch must be between 1 and 64") }
        if samples < 1 || samples > 10_000 { throw ValidationError("--samples must be between 1 and 10000") }
        if !(tolerance > 0 && tolerance < 1) { throw ValidationError("--tolerance must be between 0 and 1") }
    }

    func run() throws {
        guard let data = FileManager.default.contents(atPath: file) else {
            FileHandle.standardError.write(Data("\(file): error: cannot read file\n".utf8))
            throw ExitCode(CNNCExitStatus.failure)
        }
        var options = GradientCheck.Options()
        options.target = target
        options.batch = batch
        options.samples = samples
        options.seed = seed
        options.tolerance = tolerance
        let result = try reporting { try GradientCheck.run(source: [UInt8](data), file: file, options: options) }
        print(GradientCheck.render(result, file: file), terminator: "")
        if !result.passed { throw ExitCode(CNNCExitStatus.failure) }
    }
}
