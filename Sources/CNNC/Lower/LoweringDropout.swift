/// The lowering rule of `dropout P`, written once for both targets: inverted dropout whose masks come from a
/// counter-based generator, so that they depend on nothing but the run's seed, the training step, the layer and
/// the element, never on how a target splits the batch (threads, invocations) or on the device.
///
/// The generator, in 32-bit unsigned arithmetic (exact and alike in C and GLSL; `mix` is MurmurHash3's finalizer
/// fmix32, a bijection of 32-bit values):
///
///     key     = mix(mix(mix(seed) ^ layer) ^ step)     layer: the layer's index in the source, from 0
///     h       = mix(mix(key ^ e) + key)                e: n * (elements per sample) + offset, mod 2^32
///     dropped = (h >> 8) < round(P * 2^24)
///
/// The comparison is in integers, so no float rounding can differ between targets. The second round keeps the
/// masks of two steps from being a mere relabeling of each other's elements.
///
/// The backward pass recomputes the mask from the same key rather than saving it: a hash costs a few integer
/// operations per element, a saved mask a buffer the size of the tensor kept from the forward pass to the backward
/// pass. The forward output cannot tell the mask either (an element that was 0 stays 0 when kept).
extension Lowering {
    /// MurmurHash3's 32-bit finalizer.
    static let mixMultipliers: (UInt32, UInt32) = (0x85eb_ca6b, 0xc2b2_ae35)

    /// Statements that set the local `h` to the mask hash of element `e` (an unsigned expression) of the dropout
    /// layer `layer`, from the step values `seed` and `train_step`.
    static func maskHash(layer: Int, element e: Expr) -> [Stmt] {
        let h: Expr = "h"
        let mix: [Stmt] = [
            .assign("h", h ^ (h >> .uint(16))), .assign("h", h * .uint(mixMultipliers.0)),
            .assign("h", h ^ (h >> .uint(13))), .assign("h", h * .uint(mixMultipliers.1)),
            .assign("h", h ^ (h >> .uint(16))),
        ]
        return [.variable("h", .uint, .name(StepValue.seed.rawValue))] + mix
            + [.assign("h", h ^ .uint(UInt32(truncatingIfNeeded: layer)))] + mix
            + [.assign("h", h ^ .name(StepValue.trainStep.rawValue))] + mix
            + [.constant("key", .uint, h), .assign("h", "key" ^ e)] + mix
            + [.assign("h", h + "key")] + mix
    }

    /// The integer threshold below which 24 bits of the hash drop an element: round(P * 2^24), below 2^24 (the
    /// parser rejects a P that rounds to 1).
    static func dropThreshold(_ p: Double) -> UInt32 { UInt32((p * 16_777_216).rounded()) }

    /// The element's index for the hash: n * count + i in wrapping unsigned arithmetic (the same on every target).
    private static func maskElement(count: Int) -> Expr {
        count > 1 ? .toUnsigned("n") * .uint(UInt32(truncatingIfNeeded: count)) + .toUnsigned("i") : .toUnsigned("n")
    }

    /// Whether the element whose hash is in `h` is dropped.
    private static func dropped(_ p: Double) -> Expr { (Expr.name("h") >> .uint(8)) < .uint(dropThreshold(p)) }

    /// Training: y = dropped ? 0 : x / (1 - P); evaluation: y = x.
    static func dropoutForward(_ plan: KernelPlan, _ ki: Int, _ g: FusedGroup, p: Double) -> LoweredKernel {
        let k = plan.kernels[ki], count = g.output.count
        let at: Expr = .wide("n") * .int(count) + flatIndex(("i", count))
        let x: Expr = .load("x", at)
        let training: Expr = .name(StepValue.training.rawValue)
        return LoweredKernel(
            name: k.name, kernel: ki, group: k.group,
            summary: ["\(k.name): y = x * mask / (1 - \(p)) when training (mask 0 with probability \(p), drawn from "
                      + "(seed, step, layer \(g.layers[0]), element)), y = x when evaluating"],
            arrays: [buffer(plan, k.operands.input!, as: "x", .read),
                     buffer(plan, k.operands.output!, as: "y", .write)],
            grid: .perSample(("i", count)), stepValues: [.training, .seed, .trainStep],
            body: maskHash(layer: g.layers[0], element: maskElement(count: count))
                + [.store("y", at, .select(.equal(training, 0), x,
                                           .select(dropped(p), .float(0), x * .float(1 / (1 - p)))))])
    }

    /// dx = dropped ? 0 : dy / (1 - P), with the mask of the forward pass recomputed.
    static func dropoutBackward(_ plan: KernelPlan, _ ki: Int, _ g: FusedGroup, p: Double,
                                _ target: LoweringTarget) -> LoweredKernel {
        let k = plan.kernels[ki], o = k.operands, count = g.output.count
        let element = flatIndex(("i", count))
        let dy: Expr = .load("dy", .wide("n") * .int(stride(plan, o.outputGradient!, target)) + element)
        return LoweredKernel(
            name: k.name, kernel: ki, group: k.group,
            summary: ["\(k.name): dx = dy * mask / (1 - \(p)), the forward pass's mask recomputed"],
            arrays: [buffer(plan, o.outputGradient!, as: "dy", .read),
                     buffer(plan, o.inputGradient!, as: "dx", .write)],
            grid: .perSample(("i", count)), stepValues: [.seed, .trainStep],
            body: maskHash(layer: g.layers[0], element: maskElement(count: count))
                + [.store("dx", .wide("n") * .int(stride(plan, o.inputGradient!, target)) + element,
                          .select(dropped(p), .float(0), dy * .float(1 / (1 - p))))])
    }
}
