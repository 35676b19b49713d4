/// The batch `cnnc check` differentiates: parameters drawn like the trainer's initialization (uniform with the
/// same variance; biases small and nonzero, so that their gradients are tested away from zero), raw images
/// uniform over the range that `scale` maps onto [0, 1), random labels. Laid out as CheckDriver reads it. Every
/// value is a float32 one, so that the Vulkan trainer (`--target vulkan`) gets exactly the same batch.
struct CheckData {
    var batch: Int
    var parameters: [Double]
    var images: [Double]
    var labels: [Int32]
    var perSample: Int

    init(_ net: Network, _ plan: KernelPlan, batch: Int, random: inout SplitMix64) throws {
        self.batch = batch
        perSample = net.input.count
        parameters = [Double](repeating: 0, count: plan.parameterCount)
        for p in plan.parameters {
            let bound: Double, center: Double
            switch p.initializer {
            case let .he(fanIn): (bound, center) = ((6.0 / Double(max(fanIn, 1))).squareRoot(), 0)
            case let .glorot(fanIn, fanOut): (bound, center) = ((6.0 / Double(max(fanIn + fanOut, 1))).squareRoot(), 0)
            case .zeros: (bound, center) = (0.1, 0)
            case .ones: (bound, center) = (0.1, 1)  // batchnorm's scale and running variance: near 1, positive
            }
            let offset = plan.parameterOffsets[p.name]!
            if p.layout == .counter { continue }  // batchnorm's batch count stays 0
            for i in 0..<p.count { parameters[offset + i] = Double(Float(center + (2 * random.unit() - 1) * bound)) }
        }
        let count = try GradientCheck.checked(Checked.product(batch, perSample), "input elements")
        let range = net.scale != 0 ? 1 / abs(net.scale) : 1
        images = (0..<count).map { _ in Double(Float(random.unit() * range)) }
        let classes = net.output.count
        labels = (0..<batch).map { _ in Int32(random.next() % UInt64(classes)) }
    }

    /// The data file with `probes` (kind, index pairs) at its end.
    func file(probes: [Int64]) -> [UInt8] {
        var bytes: [UInt8] = []
        func append<T>(_ values: [T]) { values.withUnsafeBytes { bytes += $0 } }
        append([Int64(batch), Int64(parameters.count), Int64(perSample), Int64(probes.count / 2)])
        append(parameters)
        append(images)
        append(labels)
        append(probes)
        return bytes
    }
}
