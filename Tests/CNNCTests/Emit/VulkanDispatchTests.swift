import Foundation
import Testing
@testable import CNNC

/// The dispatch list of a Vulkan training step (`GLSLProgram.dispatches`, printed by `cnnc plan --target vulkan`):
/// levels that respect every dependency and separate nothing that needs no barrier, invocation counts that cover
/// the shapes, and a reason for every dispatch a large GPU would find too small.
@Suite("Vulkan dispatches")
struct VulkanDispatchTests {
    static func program(_ example: String) throws -> GLSLProgram {
        let c = try Compilation(path: repositoryRoot.appendingPathComponent("Examples/\(example).cnn").path)
        return try GLSLProgram(plan: c.plan)
    }

    @Test("mnist002 at batch 64: counts from the shapes, one dispatch per shader, a reason under 32k")
    func mnist002() throws {
        let program = try Self.program("mnist002")
        let batch = 64
        let list = program.dispatches(batch: batch)
        func invocations(_ name: String) -> Int? {
            list.first { program.shaders[$0.shader].name == name }?.invocations
        }
        // Elementwise and pooling kernels: one invocation per element of their output (or input, for the pool's
        // gather), straight from the layer shapes: 28x28x1 in, 16 filters, pools 28 -> 14 -> 7.
        #expect(invocations("input_scale") == batch * 28 * 28 * 1)
        #expect(invocations("maxpool1_forward") == batch * 14 * 14 * 16)
        #expect(invocations("maxpool2_forward") == batch * 7 * 7 * 32)
        #expect(invocations("maxpool1_backward") == batch * 28 * 28 * 16)
        #expect(invocations("maxpool2_backward") == batch * 14 * 14 * 32)
        // The update: one invocation per parameter (weights and per-element biases of the three convs, two denses).
        let parameters = (3 * 3 * 1 * 16 + 28 * 28 * 16) + (3 * 3 * 16 * 32 + 14 * 14 * 32)
            + (3 * 3 * 32 * 64 + 7 * 7 * 64) + (7 * 7 * 64 * 100 + 100) + (100 * 10 + 10)
        #expect(invocations("sgd_update") == parameters)
        #expect(invocations("adam_update") == nil, "one update shader per step")
        // 30 dispatches in 20 phases (39 in 25 before levels and one-pass reductions): a regression guard.
        #expect(list.count == 30 && (list.map(\.level).max() ?? 0) + 1 <= 20)
        // Every reader of a conv's dz reads each element taps x channel blocks times, more than the 3 accesses of a
        // pass of its own: the ReLU gradient is a `_dz` pass, and the input gradient does not read the output.
        for conv in ["conv1", "conv2", "conv3"] {
            #expect(invocations(conv + "_backward_dz") != nil, "\(conv)'s dz pass")
            let g = try #require(program.plan.groups.first { $0.name == conv })
            #expect(!Schedule.gpuFusesActivationGradient(g) && Schedule.gpuDzReads(g) >= 9)
        }
        let dx = try #require(program.shaders.first { $0.name == "conv2_backward_dx" })
        #expect(!dx.bindings.contains { $0.array == "y" })
        // The split-K dense forward and input gradient specialize their lanes (LANES), with shared memory.
        let dense1 = try #require(program.shaders.first { $0.name == "dense1_forward" })
        #expect(dense1.lanes == 64 && dense1.sharedBytes == 4 * 4 * 4 * 64)
        #expect(dense1.source.contains("layout(constant_id = 0) const int LANES = 64;"))
        // Every other shader of the program once, the update of the other optimizer excepted.
        #expect(list.count == program.shaders.count - 1)
        #expect(Set(list.map(\.shader)).count == list.count)
        for d in list {
            let s = program.shaders[d.shader]
            #expect(d.workgroups == (d.invocations + 63) / 64, "\(s.name)")
            #expect(d.grid.x * d.grid.y >= d.workgroups && d.grid.x <= 65535, "\(s.name)")
            if d.invocations < GLSLProgram.enoughInvocations {
                #expect(s.note?.isEmpty == false, "\(s.name): \(d.invocations) invocations and no reason")
            }
        }
    }

    @Test("levels: every dependency crosses a barrier, and each level waits for the one before",
          arguments: VulkanShaderTests.examples)
    func levels(_ example: String) throws {
        let program = try Self.program(example)
        let level = program.levels()
        let order = program.stepOrder
        for (position, i) in order.enumerated() {
            let earlier = order.prefix(position).filter {
                !(program.shaders[i].phase == .update && program.shaders[$0].phase == .update)
            }
            for j in earlier where program.depends(program.shaders[i], on: program.shaders[j]) {
                #expect(level[i] > level[j], "\(program.shaders[i].name) must wait for \(program.shaders[j].name)")
            }
            if level[i] > 0 {
                #expect(earlier.contains { level[$0] == level[i] - 1 && program.depends(program.shaders[i], on: program.shaders[$0]) },
                        "\(program.shaders[i].name) at level \(level[i]) waits for nothing in the level before")
            }
        }
        // The listing is in level order.
        let listed = program.dispatches(batch: 64).map(\.level)
        #expect(listed == listed.sorted())
    }

    @Test("hazards by element range: two gradients in one storage are independent, a whole storage is not")
    func spans() {
        let a = GLSLSpan(storage: "grads", start: 0, end: 144), b = GLSLSpan(storage: "grads", start: 144, end: 200)
        #expect(!a.overlaps(b) && !b.overlaps(a))
        #expect(GLSLSpan(storage: "grads").overlaps(b))
        #expect(!GLSLSpan(storage: "params").overlaps(a))
        #expect(GLSLSpan(storage: "grads", start: 143, end: 145).overlaps(b))
    }
}
