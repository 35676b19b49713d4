import Foundation

/// `cnnc check --target vulkan`: the GLSL kernels' parameter gradients, in float32 on the device, against the
/// double-precision CPU kernels' on the same batch and parameters, which the same run checks by finite
/// differences. Finite differences of the float32 shaders themselves could promise only a few digits (the step
/// must stay far above float32's rounding of the loss), so the verified double build is the reference and the
/// tolerance is float32's: 1e-4 relative.
///
/// cnnc does not run shaders itself: it writes the Vulkan trainer package, builds it with `swift build`, writes
/// the batch as a CSV file and the parameters as a checkpoint, and reads back the trainer's `--dump-gradients`.
enum CheckVulkan {
    static let tolerance = 1e-4

    /// Per parameter of `c.plan` (in plan order), the largest relative error of the Vulkan trainer's gradient
    /// against `reference` (the double CPU build's parameter gradients, cnnc's layout); and the trainer's loss.
    static func errors(_ c: Compilation, data: CheckData, reference: ArraySlice<Double>, in dir: String,
                       file: String) throws -> (errors: [Double], loss: Double) {
        let swift = try CheckBuild.findTool("swift", purpose: "builds the Vulkan trainer with the Swift toolchain")
        let package = dir + "/package"
        try VulkanTarget.write(c, to: package)
        let build = try CheckBuild.run(swift, ["build", "-c", "release", "--package-path", package])
        guard build.status == 0 else {
            let lines = build.output.split(separator: "\n")
            let first = (lines.first { $0.contains("error") } ?? lines.last).map(String.init)
                ?? "exit status \(build.status)"
            throw CompileError("\(file): error: swift build of the Vulkan trainer failed: \(first)")
        }
        let plan = c.plan
        // The batch, one sample per row (values in H,W,C order, then the label), and the parameters.
        var csv = ""
        for n in 0..<data.batch {
            let values = data.images[(n * data.perSample)..<((n + 1) * data.perSample)]
            csv += values.map { "\(Float($0))" }.joined(separator: ",") + ",\(data.labels[n])\n"
        }
        try CheckBuild.write(csv, to: dir + "/batch.csv")
        let tensors = plan.parameters.map { p -> (name: String, shape: [Int], values: [Float], integer: Bool) in
            let offset = plan.parameterOffsets[p.name]!
            let order = torchOrder(p.layout)
            return (p.name, p.layout.torchShape, order.map { Float(data.parameters[offset + $0]) }, p.layout == .counter)
        }
        let checkpoint = Safetensors.bytes(tensors, metadata: ["format": "pt"])
        try CheckBuild.write(bytes: checkpoint, to: dir + "/parameters.safetensors")
        let dump = dir + "/gradients.safetensors"
        let run = try CheckBuild.run(package + "/.build/release/train", [
            "--data", dir + "/batch.csv", "--load", dir + "/parameters.safetensors", "--batch", "\(data.batch)",
            "--dump-gradients", dump, "--seed", "1",  // dropout's masks: those of the CPU build (CheckDriver)
        ])
        guard run.status == 0 else {
            let first = run.output.split(separator: "\n").first { $0.contains("error") }.map(String.init)
                ?? "exit status \(run.status)"
            throw CompileError("\(file): error: the Vulkan trainer failed: \(first)")
        }
        let read = try Safetensors.read(dump, file: file)
        var errors: [Double] = []
        for p in plan.parameters where !p.isBuffer {
            guard let values = read[p.name], values.count == p.count else {
                throw CompileError("\(file): error: the Vulkan trainer's gradients lack \(p.name)")
            }
            let offset = plan.parameterOffsets[p.name]!
            let order = torchOrder(p.layout)
            errors.append(relativeError(values, order.map { reference[reference.startIndex + offset + $0] }))
        }
        return (errors, Double(read["loss"]?.first ?? .nan))
    }

    /// The largest error of `values` against `expected`, each relative to the larger of the two, at least a
    /// hundredth of the largest expected value (as the finite differences are judged); a NaN is infinite.
    static func relativeError(_ values: [Float], _ expected: [Double]) -> Double {
        let floor = max((expected.map(abs).max() ?? 0) * 1e-2, 1e-12)
        var worst = 0.0
        for (v, r) in zip(values, expected) {
            let e = abs(Double(v) - r) / max(abs(Double(v)), abs(r), floor)
            worst = e.isNaN ? .infinity : max(worst, e)
        }
        return worst
    }

    /// The PyTorch order of a parameter: element t of the checkpoint tensor is element order[t] of cnnc's layout.
    static func torchOrder(_ layout: ParamLayout) -> [Int] {
        var order: [Int] = []
        order.reserveCapacity(layout.count)
        switch layout {
        case let .channelBias(c):
            order = Array(0..<c)
        case .counter:
            order = [0]
        case let .convWeight(oc, c, kh, kw):
            for o in 0..<oc { for ci in 0..<c { for y in 0..<kh { for x in 0..<kw {
                order.append(((y * kw + x) * c + ci) * oc + o)
            } } } }
        case let .denseWeight(out, h, w, c):
            for o in 0..<out { for ci in 0..<c { for y in 0..<h { for x in 0..<w {
                order.append(((y * w + x) * c + ci) * out + o)
            } } } }
        case let .elementBias(h, w, c), let .flatBias(h, w, c):
            for ci in 0..<c { for y in 0..<h { for x in 0..<w { order.append((y * w + x) * c + ci) } } }
        }
        return order
    }
}

/// The safetensors files the Vulkan check writes (float32 tensors) and reads (the trainer's gradient dump).
enum Safetensors {
    /// Float32 tensors, and integer ones (batchnorm's batch count) as I64.
    static func bytes(_ tensors: [(name: String, shape: [Int], values: [Float], integer: Bool)],
                      metadata: [String: String]) -> [UInt8] {
        var entries: [String: Any] = ["__metadata__": metadata]
        var offset = 0
        for t in tensors {
            let size = t.integer ? 8 : 4
            entries[t.name] = ["dtype": t.integer ? "I64" : "F32", "shape": t.shape,
                               "data_offsets": [offset, offset + size * t.values.count]]
            offset += size * t.values.count
        }
        var header = [UInt8]((try? JSONSerialization.data(withJSONObject: entries, options: [.sortedKeys])) ?? Data())
        while header.count % 8 != 0 { header.append(0x20) }
        var out: [UInt8] = []
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { out += $0 }
        out += header
        for t in tensors {
            if t.integer {
                t.values.map { Int64($0).littleEndian }.withUnsafeBytes { out += $0 }
            } else {
                t.values.map(\.bitPattern.littleEndian).withUnsafeBytes { out += $0 }
            }
        }
        return out
    }

    /// Every F32 tensor of the file at `path`, by name.
    static func read(_ path: String, file: String) throws -> [String: [Float]] {
        func fail() -> CompileError { CompileError("\(file): error: the Vulkan trainer's gradient file is unreadable") }
        guard let data = FileManager.default.contents(atPath: path), data.count >= 8 else { throw fail() }
        let bytes = [UInt8](data)
        let length = bytes[0..<8].reversed().reduce(0) { $0 << 8 | Int($1) }
        guard length >= 2, length <= bytes.count - 8,
              let header = try? JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + length)])) as? [String: Any]
        else { throw fail() }
        var out: [String: [Float]] = [:]
        for (name, entry) in header where name != "__metadata__" {
            guard let e = entry as? [String: Any], e["dtype"] as? String == "F32",
                  let range = e["data_offsets"] as? [Int], range.count == 2, range[0] >= 0, range[0] <= range[1],
                  range[1] <= bytes.count - 8 - length, (range[1] - range[0]) % 4 == 0 else { throw fail() }
            let start = 8 + length + range[0]
            out[name] = stride(from: start, to: 8 + length + range[1], by: 4).map { i in
                Float(bitPattern: UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2]) << 16
                      | UInt32(bytes[i + 3]) << 24)
            }
        }
        return out
    }
}
