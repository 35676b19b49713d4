import Testing
@testable import CNNC

private typealias Case = ParserErrorCase

/// `train ... schedule=constant|step|cosine warmup=N step=E gamma=X`: what it parses to, what the generated
/// trainer gets, and a diagnostic at the word for every combination that means nothing.
@Suite struct ScheduleSyntaxTests {
    static func train(_ line: String) throws -> TrainConfig {
        try Parser.parse("input 8x8\ndense 2\nsoftmax\n" + line + "\n", file: "net.cnn").train
    }

    @Test("schedules, warm-up and their defaults")
    func parsed() throws {
        #expect(try Self.train("train lr=0.1").schedule == .constant)
        #expect(try Self.train("train lr=0.1").warmup == 0)
        let cosine = try Self.train("train warmup=500 schedule=cosine")
        #expect(cosine.schedule == .cosine && cosine.warmup == 500)
        #expect(try Self.train("train step=30 schedule=step").schedule == .step(every: 30, gamma: 0.1))
        #expect(try Self.train("train schedule=step step=2 gamma=0.5").schedule == .step(every: 2, gamma: 0.5))
        #expect(try Self.train("train schedule=constant warmup=3").warmup == 3)
    }

    static let cases: [ParserErrorCase] = [
        Case("input 8x8\ntrain schedule=linear\n", 2, 16, "unknown schedule 'linear'", hint: "one of constant, step, cosine"),
        Case("input 8x8\ntrain schedule=step\n", 2, 16, "schedule=step needs step=E, the epochs between decays",
             hint: "for example schedule=step step=10 gamma=0.1"),
        Case("input 8x8\ntrain schedule=cosine gamma=0.5\n", 2, 29, "'gamma=' applies only to schedule=step"),
        Case("input 8x8\ntrain step=3\n", 2, 12, "'step=' applies only to schedule=step"),
        Case("input 8x8\ntrain schedule=step step=0\n", 2, 26, "step (epochs between decays) must be positive, got 0"),
        Case("input 8x8\ntrain schedule=step step=2 gamma=1.5\n", 2, 34, "gamma must be in (0, 1], got '1.5'"),
        Case("input 8x8\ntrain warmup=-1\n", 2, 14, "expected a non-negative number of optimizer steps, got '-1'"),
    ]

    @Test("meaningless schedules are diagnostics at the word", arguments: cases)
    func rejected(_ c: ParserErrorCase) {
        ParserErrorTests.check(c, ParserErrorTests.diagnostic(c.source))
    }

    @Test("the schedule reaches both generated trainers as their default")
    func generated() throws {
        let source = "input 2x2\ndense 2\nsoftmax\ntrain schedule=step step=4 gamma=0.25 warmup=7\n"
        let c = try Compilation(source: Array(source.utf8), file: "t.cnn")
        let cpu = try #require(try CPUTarget.generate(c).files["Sources/Network/Network.swift"])
        #expect(cpu.contains("schedule: .step(every: 4, gamma: 0.25),") && cpu.contains("warmup: 7,"))
        let vulkan = try #require(try VulkanTarget.generate(c).files["Sources/Network/Network.swift"])
        #expect(vulkan.contains("schedule: .step(every: 4, gamma: 0.25),") && vulkan.contains("warmup: 7,"))
    }
}

/// `augment [hflip] [crop=P]`.
@Suite struct AugmentSyntaxTests {
    @Test("augment's forms; the train statement keeps it")
    func parsed() throws {
        func augmentation(_ text: String) throws -> Augmentation {
            try Parser.parse("input 8x8\n" + text + "\ndense 2\nsoftmax\ntrain lr=0.1\n", file: "net.cnn").train.augmentation
        }
        #expect(try augmentation("augment hflip crop=2") == Augmentation(hflip: true, crop: 2))
        #expect(try augmentation("augment crop=8") == Augmentation(crop: 8))
        #expect(try augmentation("") == Augmentation())
    }

    static let cases: [ParserErrorCase] = [
        Case("input 8x8\naugment crop=9\n", 2, 14, "crop=9 pads more than the input is wide or high (8x8)",
             hint: "a few pixels, like crop=4 for 32x32 images"),
        Case("input 8x8\naugment hflip hflip\n", 2, 15, "'hflip' given twice"),
        Case("input 8x8\naugment vflip\n", 2, 9, "unexpected extra operand 'vflip'"),
        Case("augment hflip\ninput 8x8\n", 1, 1, "'augment' must come after 'input'"),
        Case("input 8x8\naugment hflip\naugment crop=1\n", 3, 1, "duplicate 'augment' statement",
             hint: "'augment' is already given at line 2"),
    ]

    @Test("augment errors are diagnostics at the word", arguments: cases)
    func rejected(_ c: ParserErrorCase) {
        ParserErrorTests.check(c, ParserErrorTests.diagnostic(c.source))
    }
}
