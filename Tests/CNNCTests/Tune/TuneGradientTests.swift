import Foundation
import Testing
@testable import CNNC

/// Tuning never changes results beyond the gradient tolerance: every timing variant the tuner builds (each group
/// on its candidate v) passes `cnnc check` (double kernels against central differences, on the trainer's plan and on
/// the plan with the input's gradient). The nets checked cover every form any example's candidates take.
@Suite("every tuning candidate's gradients", .serialized)
struct TuneGradientTests {
    /// The nets checked: the gradient-test nets (every layer kind, strides, padding, odd channel counts) and two
    /// examples.
    static let nets: [(name: String, source: String)] = CPUGradientTests.nets + ["mnist002", "lenet5"].map { name in
        (name, (try? String(contentsOf: repositoryRoot.appendingPathComponent("Examples/\(name).cnn"), encoding: .utf8)) ?? "")
    }

    /// The timing variants of a net, on both plans `cnnc check` builds.
    static func variants(_ source: String, _ name: String) throws -> Int {
        try [false, true].map { input in
            TuneCandidates.variantCount(TuneCandidates.all(
                try Compilation(source: Array(source.utf8), file: "\(name).cnn", inputGradient: input).plan))
        }.max()!
    }

    @Test("every variant passes cnnc check", arguments: 0..<nets.count)
    func variantsPass(_ index: Int) throws {
        let (name, source) = Self.nets[index]
        let count = try Self.variants(source, name)
        for v in 1..<max(count, 1) {
            var options = GradientCheck.Options()
            options.variant = v
            let r = try GradientCheck.run(source: Array(source.utf8), file: "\(name).cnn", options: options)
            #expect(r.passed, "\(name) variant \(v): \(r.failing.map { "\($0.tensor) \($0.maxError)" })")
        }
    }

    /// Every form the examples' candidates take is a form some checked net's candidates take.
    @Test func checkedNetsCoverTheExamplesForms() throws {
        func kinds(_ plan: KernelPlan) -> Set<[FormKind]> {
            // A schedule's forward and backward kinds together with whether the group needs an input gradient.
            Set(TuneCandidates.all(plan).flatMap { c in
                (c.forward + c.backward).map { FormKind.kinds($0) }
            })
        }
        var checked = Set<[FormKind]>()
        for net in Self.nets {
            for input in [false, true] {
                checked.formUnion(kinds(try Compilation(source: Array(net.source.utf8), file: "\(net.name).cnn",
                                                        inputGradient: input).plan))
            }
        }
        for name in TuneCandidateTests.examples {
            let missing = kinds(try TuneCandidateTests.example(name)).subtracting(checked)
            #expect(missing.isEmpty, "\(name): forms no checked net has: \(missing)")
        }
    }
}
