import Foundation
@testable import CNNC

/// Builds and runs what `cnnc export --format c` writes: the C compilers found here, a checkpoint of known
/// weights, the example program fed raw float32 images, and the reference interpreter's probabilities for them.
enum CExportFixture {
    /// The strictness the issue promises, with -pedantic on top.
    static let strict = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic"]

    /// gcc and clang where present (clang also from the Swift toolchain), else `cc`.
    static let compilers: [String] = {
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
        let found = ["gcc", "clang"].compactMap { name in
            path.map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
        }
        return found.isEmpty ? ["/usr/bin/cc"] : found
    }()

    /// A checkpoint of `net` in PyTorch layout: every parameter uniform in [-scale, scale), batchnorm's running
    /// means in [-0.5, 0.5), variances in [0.5, 1.5), batch counts 3; the same values as Doubles for the reference.
    static func checkpoint(_ net: Network, seed: UInt64, scale: Double = 0.5, to url: URL) throws -> [String: [Double]] {
        var values = Reference.randomParameters(net, seed: seed, scale: scale)
        var rng = Reference.Random(seed: seed ^ 0xb0f)
        for b in net.state where values[b.name] == nil {
            let suffix = b.name.split(separator: ".").last ?? ""
            values[b.name] = (0..<b.count).map { _ in
                suffix == "running_var" ? 0.5 + rng.nextUnit() : suffix == "running_mean" ? rng.nextUnit() - 0.5 : 3
            }
        }
        // What the C file holds are floats: the reference runs on the same values.
        values = values.mapValues { $0.map { Double(Float($0)) } }
        var tensors: [String: SafeTensorsFile.Tensor] = [:]
        for p in net.state {
            tensors[p.name] = SafeTensorsFile.Tensor(shape: p.layout.torchShape, values: values[p.name]!.map { Float($0) },
                                                     integer: p.layout == .counter)
        }
        try SafeTensorsFile.write(tensors, to: url)
        return values
    }

    /// Compiles the exported folder's example.c and NAME.c into `dir/output`; throws with the compiler's output.
    @discardableResult
    static func build(_ dir: URL, prefix: String, compiler: String, flags: [String], output: String = "example") throws -> String {
        let exe = dir.appendingPathComponent(output).path
        let files = ["example.c", "\(prefix).c"].map { dir.appendingPathComponent($0).path }
        let result = try GeneratedTrainer.run(compiler, strict + flags + files + ["-lm", "-o", exe])
        guard result.status == 0 else { throw TrainerError("\(compiler) \(flags) failed:\n\(result.output.prefix(4000))") }
        return exe
    }

    /// Runs the example on `images` (each `inputSize` raw values); returns per image its class and probabilities,
    /// and what it wrote on standard error.
    static func classify(_ exe: String, _ images: [Float], classes: Int, in dir: URL,
                         environment: [String: String] = [:]) throws -> (classes: [Int], probabilities: [[Float]], stderr: String) {
        let input = dir.appendingPathComponent("images-\(UUID().uuidString).f32")
        try images.withUnsafeBufferPointer { Data(buffer: $0) }.write(to: input)
        defer { try? FileManager.default.removeItem(at: input) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        p.standardInput = try FileHandle(forReadingFrom: input)
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        // Standard error is small; read it after standard output, which can be large, has been drained.
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw TrainerError("\(exe) exited \(p.terminationStatus):\n\(stderr.prefix(4000))") }
        var labels: [Int] = [], probabilities: [[Float]] = []
        for line in String(decoding: stdout, as: UTF8.self).split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count == classes + 1, let label = Int(fields[0]) else { throw TrainerError("bad line: \(line)") }
            labels.append(label)
            probabilities.append(try fields.dropFirst().map { f in
                guard let v = Float(f) else { throw TrainerError("bad number \(f) in: \(line)") }
                return v
            })
        }
        return (labels, probabilities, stderr)
    }

    /// `count` images of whole numbers in 0...255, seeded.
    static func randomImages(_ net: Network, count: Int, seed: UInt64) -> [Float] {
        var rng = Reference.Random(seed: seed)
        return (0..<count * net.input.count).map { _ in Float(rng.nextInt(256)) }
    }

    /// The first `limit` images (raw bytes as floats) and labels of Fashion-MNIST's test set.
    static func fashionTest(limit: Int = 10_000) throws -> (images: [Float], labels: [Int]) {
        func gunzip(_ name: String) throws -> [UInt8] {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/bin/gzip")
            p.arguments = ["-dc", "\(fashionMNIST)/\(name)"]
            let pipe = Pipe()
            p.standardOutput = pipe
            try p.run()
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            return [UInt8](data)
        }
        let images = try gunzip("t10k-images-idx3-ubyte.gz"), labels = try gunzip("t10k-labels-idx1-ubyte.gz")
        let n = min(limit, 10_000)
        guard images.count == 16 + 10_000 * 784, labels.count == 8 + 10_000 else { throw TrainerError("unexpected test set") }
        return (images[16..<16 + n * 784].map { Float($0) }, labels[8..<8 + n].map { Int($0) })
    }

    /// The reference's probabilities (its forward pass alone), in evaluation mode, for `images` (raw values, H,W,C order).
    static func reference(_ net: Network, _ parameters: [String: [Double]], _ images: [Float]) -> [[Double]] {
        let size = net.input.count
        let batch = (0..<images.count / size).map { i in images[i * size..<(i + 1) * size].map { Double($0) } }
        let trace = Reference.forward(net, parameters: parameters, images: batch, training: false)
        return trace.values.last!
    }

    /// The description of the CompileError `body` throws (nil when it throws none).
    static func errorMessage(_ body: () throws -> Void) -> String? {
        do {
            try body()
            return nil
        } catch let error as CompileError {
            return error.description
        } catch {
            return "unexpected error type: \(error)"
        }
    }
}
