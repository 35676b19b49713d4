import Foundation
import Testing
@testable import CNNC

/// The generated C, built as a user builds it, against the reference interpreter: forward probabilities, loss and
/// every parameter gradient, within 1e-4 relative error in float. Together the nets cover every layer kind,
/// strides, SAME and asymmetric padding, explicit padding, non-square inputs and kernels, and several channels;
/// wide_e has a conv too large for the transposed-weight input gradient, so it takes the other form; rows_f has
/// stride-1 convs on whole vectors of channels (16, 32), whose input gradient runs a row at a time, with rows
/// that are not a multiple of the register block and a padding wider than the kernel's reach, and a max pool on
/// whole vectors of channels; odd_g has 48 filters and then 48 input channels, three vectors, which the row forms
/// must not take two at a time (they once did, and wrote filters 32..<64 of 48); mix_a normalizes its input per
/// channel after the scale.
@Suite("generated C matches the reference", .serialized)
struct CPUGradientTests {
    static let nets: [(name: String, source: String)] = [
        ("mix_a", """
         net mix_a
         input 9x7x2
         scale 0.5
         normalize mean=0.25,-0.125 std=0.5,2
         conv 4 3x3 pad=same relu
         maxpool 2x2 stride=2 pad=same
         conv 5 3x2 stride=2 pad=1 bias=element sigmoid
         bias channel
         avgpool 2x2 stride=1 pad=same
         tanh
         flatten
         dense 6 bias=none
         bias channel
         relu
         dense 3 tanh
         softmax
         """),
        ("mix_b", """
         net mix_b
         input 6x5x3
         bias element
         conv 3 2x3 stride=2x1 bias=none
         sigmoid
         avgpool 3x3 stride=2 pad=same
         relu
         maxpool 2x1 stride=1x1 pad=valid
         dense 4 bias=channel sigmoid
         bias element
         dense 3
         softmax
         """),
        ("mix_c", """
         net mix_c
         input 8x8
         scale 1/16
         conv 2 3x3 pad=1 relu
         conv 4 3x3 pad=1 leakyrelu slope=0.1
         maxpool 2x2
         leakyrelu slope=0.05
         dense 32 leakyrelu
         dense 10
         softmax
         """),
        ("flat_d", """
         net flat_d
         input 3x4x5
         conv 3 1x1 bias=none
         flatten
         bias element
         tanh
         dense 6 bias=none
         bias channel
         relu
         dense 3 tanh
         softmax
         """),
        ("wide_e", """
         net wide_e
         input 3x3x64
         conv 64 1x1 bias=none relu
         conv 128 3x3 pad=same
         dense 3
         softmax
         """),
        ("rows_f", """
         net rows_f
         input 5x9x16
         bias element
         conv 32 3x3 pad=1 relu
         maxpool 2x3 stride=1 pad=same
         conv 16 5x2 stride=2x1 pad=same bias=element relu
         conv 8 3x3 pad=2 tanh
         flatten
         dense 3
         softmax
         """),
        ("odd_g", """
         net odd_g
         input 4x6x16
         conv 48 3x3 pad=1 relu
         conv 16 3x3 pad=1 relu
         flatten
         dense 3
         softmax
         """),
    ]

    @Test("forward, loss and every gradient", arguments: 0..<nets.count)
    func matchesReference(_ index: Int) throws {
        let (name, source) = Self.nets[index]
        let trainer = try GeneratedTrainer.build(source, name: name)
        let test = try ReferenceCase(trainer, name: name, index: index)
        // Three threads (gradient accumulators summed across threads) and one (accumulating in place).
        for threads in ["3", "1"] {
            let dump = GeneratedTrainer.workRoot.appendingPathComponent("\(name)-dump-\(threads).safetensors")
            let run = try trainer.train(test.arguments(dump: dump) + ["--threads", threads])
            #expect(run.status == 0, "\(run.output)")
            print(try test.check(dump, label: "\(name), \(threads) thread(s)"))
        }
    }
}
