import Foundation
import Testing
@testable import CNNC

/// Graph networks, generated for both targets and built as a user builds them, against the reference interpreter:
/// probabilities, loss and every parameter gradient within 1e-4 relative. graph_a has an identity shortcut whose
/// tensor fans out, a projection shortcut (a stride-2 1x1 conv reached with from=), add with and without relu, and
/// globalavgpool; graph_b has an add with the network input (no gradient to it), from=input, a three-way concat,
/// a tensor read by two dense layers, and a concat of flat tensors. The adds of both that follow a conv without
/// activation are fused into its epilogue as residuals; graph_c has the other cases of that fusion: a residual
/// whose gradient is the first of its tensor's (and gets later readers' terms added), one that is a term of a
/// sum, one that is the conv's (or the dense's) own input too, a first conv (no input gradient, its single-pass
/// backward form) with a residual that needs a gradient, and a stand-alone add of three tensors (not fused).
@Suite("generated graph networks match the reference", .serialized)
struct GraphGradientTests {
    static let nets: [(name: String, source: String)] = [
        ("graph_a", """
         net graph_a
         input 8x6x3
         scale 0.5
         conv 4 3x3 pad=same relu name=stem
         conv 4 3x3 pad=same relu
         conv 4 3x3 pad=same
         add stem relu name=block1
         conv 6 3x3 stride=2 pad=same relu name=down
         conv 6 1x1 stride=2 from=block1 name=proj
         add down name=block2
         relu
         globalavgpool
         dense 3
         softmax
         """),
        ("graph_b", """
         net graph_b
         input 6x6x2
         scale 0.5
         conv 2 3x3 pad=same name=pre
         add input relu name=skip0
         conv 3 1x1 relu name=b1
         conv 2 3x3 pad=same tanh from=input name=b2
         maxpool 3x3 stride=1 pad=same from=skip0
         conv 2 1x1 sigmoid name=b3
         concat b1,b2 name=mix
         avgpool 2x2
         dense 5 tanh name=h1
         dense 4 sigmoid from=avgpool1 name=h2
         concat h1 name=flat
         dense 3
         softmax
         """),
        ("graph_c", """
         net graph_c
         input 6x6x2
         scale 0.5
         conv 3 3x3 pad=same relu name=c1
         conv 3 1x1 from=input name=c2
         add c1 relu name=s1
         conv 3 3x3 pad=same name=c3
         add s1 name=s2
         conv 3 3x3 pad=same relu name=c4
         add s2,s1 name=s3
         conv 3 1x1 name=c5
         add s2 relu name=s4
         globalavgpool
         dense 4 relu name=d1
         dense 4 name=d2
         add d1 relu name=s5
         dense 3
         softmax
         """),
    ]

    @Test("CPU: forward, loss and every gradient", arguments: 0..<nets.count)
    func cpuMatchesReference(_ index: Int) throws {
        let (name, source) = Self.nets[index]
        let trainer = try GeneratedTrainer.build(source, name: name)
        let test = try ReferenceCase(trainer, name: name, index: 20 + index)
        for threads in ["3", "1"] {
            let dump = GeneratedTrainer.workRoot.appendingPathComponent("\(name)-dump-\(threads).safetensors")
            let run = try trainer.train(test.arguments(dump: dump) + ["--threads", threads])
            #expect(run.status == 0, "\(run.output)")
            print(try test.check(dump, label: "\(name), \(threads) thread(s)"))
        }
    }

    @Test("Vulkan: forward, loss and every gradient, validation clean",
          .enabled(if: VulkanProbe.available, VulkanProbe.skipMessage), arguments: 0..<nets.count)
    func vulkanMatchesReference(_ index: Int) throws {
        let (name, source) = Self.nets[index]
        let trainer = try GeneratedTrainer.build(source, name: name, target: "vulkan")
        let test = try ReferenceCase(trainer, name: name, index: 20 + index)
        for staging in ["0", "1"] {
            let dump = GeneratedTrainer.workRoot.appendingPathComponent("\(name)-vk-dump-\(staging).safetensors")
            let run = try trainer.train(test.arguments(dump: dump),
                                        environment: ["CNNC_VALIDATION": "1", "CNNC_VULKAN_STAGING": staging])
            #expect(run.status == 0, "\(run.output)")
            #expect(!run.output.contains("vulkan validation"), "validation messages:\n\(run.output.prefix(3000))")
            print(try test.check(dump, label: "\(name) (Vulkan\(staging == "1" ? ", staging" : ""))"))
        }
    }
}
