import Foundation
import Testing
@testable import CNNC

/// The optimizers end to end, on both targets: three steps of sgd with weight decay, adam with weight decay, and
/// adamw, from one checkpoint, the last two with a warm-up and a cosine schedule, against the optimizers written
/// out here in double precision from torch.optim's documented algorithms over the reference interpreter's
/// gradients. The net has batchnorm, whose running statistics must change as the forward passes say and never
/// by weight decay or an optimizer step.
enum OptimizerNets {
    static let source = """
        net opt_a
        input 5x4x2
        conv 3 3x3 pad=1 bias=none
        batchnorm relu
        maxpool 2x2
        flatten
        dense 4 tanh
        dense 3
        softmax
        """

    struct Case: Sendable, CustomStringConvertible {
        var optimizer: String
        var lr: Double
        var weightDecay: Double
        var momentum = 0.5
        /// Warm-up steps, then cosine over the rest of the 3 steps; nil: a constant rate.
        var warmup: Int?
        var description: String { optimizer }
    }

    static let cases = [
        Case(optimizer: "sgd", lr: 0.05, weightDecay: 0.02, warmup: nil),
        Case(optimizer: "adam", lr: 0.01, weightDecay: 0.02, warmup: 1),
        Case(optimizer: "adamw", lr: 0.01, weightDecay: 0.1, warmup: 1),
    ]
    static let steps = 3

    /// The trainer's arguments: one step per epoch on the case's batch, saving the checkpoint.
    static func arguments(_ c: Case, _ test: ReferenceCase, save: URL) -> [String] {
        var args = ["--data", test.data.path, "--load", test.weights.path, "--batch", "\(test.batch)",
                    "--epochs", "\(steps)", "--no-shuffle", "--optimizer", c.optimizer, "--lr", "\(c.lr)",
                    "--weight-decay", "\(c.weightDecay)", "--save", save.path]
        if c.optimizer == "sgd" { args += ["--momentum", "\(c.momentum)"] }
        if let w = c.warmup { args += ["--schedule", "cosine", "--warmup", "\(w)"] }
        return args
    }

    /// The learning rate of step t (1-based) as the issue defines it: linear warm-up, then cosine to the end.
    static func rate(_ c: Case, step t: Int) -> Double {
        guard let w = c.warmup else { return c.lr }
        if t <= w { return c.lr * Double(t) / Double(w) }
        return c.lr * 0.5 * (1 + cos(Double.pi * Double(t - w - 1) / Double(steps - w)))
    }

    /// The state after the steps: PyTorch's SGD, Adam and AdamW in double precision.
    static func reference(_ c: Case, _ test: ReferenceCase) -> [String: [Double]] {
        var state = test.state
        var first: [String: [Double]] = [:], second: [String: [Double]] = [:]
        let (b1, b2, eps) = (0.9, 0.999, 1e-8)
        for t in 1...steps {
            let r = Reference.run(test.net, parameters: state, images: test.images, labels: test.labels)
            state.merge(r.buffers) { $1 }
            let lr = rate(c, step: t)
            for p in test.net.parameters {
                var w = state[p.name]!
                var g = r.gradients[p.name]!
                var m = first[p.name] ?? [Double](repeating: 0, count: w.count)
                var s = second[p.name] ?? [Double](repeating: 0, count: w.count)
                for i in w.indices {
                    switch c.optimizer {
                    case "sgd":
                        g[i] += c.weightDecay * w[i]
                        m[i] = c.momentum * m[i] + g[i]
                        w[i] -= lr * m[i]
                    default:
                        if c.optimizer == "adamw" { w[i] *= 1 - lr * c.weightDecay } else { g[i] += c.weightDecay * w[i] }
                        m[i] = b1 * m[i] + (1 - b1) * g[i]
                        s[i] = b2 * s[i] + (1 - b2) * g[i] * g[i]
                        let mHat = m[i] / (1 - pow(b1, Double(t))), sHat = s[i] / (1 - pow(b2, Double(t)))
                        w[i] -= lr * mHat / (sHat.squareRoot() + eps)
                    }
                }
                state[p.name] = w
                first[p.name] = m
                second[p.name] = s
            }
        }
        return state
    }

    /// Compares the saved checkpoint with the reference; returns a line of the differences.
    static func check(_ c: Case, _ test: ReferenceCase, save: URL, label: String) throws -> String {
        let want = reference(c, test)
        let saved = try SafeTensorsFile.read(save)
        var report = "\(label), \(c.optimizer): max relative difference"
        for p in test.net.state {
            let got = try #require(saved[p.name], "\(label): no \(p.name) in the checkpoint")
            let e = ReferenceCase.relativeError(got.values, want[p.name]!)
            report += ", \(p.name) \(e)"
            #expect(e < 1e-4, "\(label), \(c.optimizer): \(p.name) differs by \(e)")
            if !p.isBuffer {  // the steps moved every parameter tensor
                let moved = ReferenceCase.relativeError(got.values, test.state[p.name]!)
                #expect(moved > 1e-3, "\(label), \(c.optimizer): \(p.name) did not move")
            }
        }
        return report
    }
}

@Suite("optimizers: generated C matches PyTorch's algorithms", .serialized)
struct CPUOptimizerTests {
    @Test("three steps of sgd, adam and adamw with weight decay and schedules, at 1 and 2 threads")
    func matchesReference() throws {
        let trainer = try GeneratedTrainer.build(OptimizerNets.source, name: "opt_a")
        let test = try ReferenceCase(trainer, name: "opt_a", index: 60)
        for c in OptimizerNets.cases {
            for threads in ["1", "2"] {
                let save = GeneratedTrainer.workRoot.appendingPathComponent("opt_a-\(c.optimizer)-\(threads).safetensors")
                let run = try trainer.train(OptimizerNets.arguments(c, test, save: save) + ["--threads", threads])
                #expect(run.status == 0, "\(run.output)")
                print(try OptimizerNets.check(c, test, save: save, label: "\(threads) thread(s)"))
            }
        }
        // A value of another optimizer is refused, not ignored.
        let wrong = try trainer.train(["--data", test.data.path, "--optimizer", "adam", "--momentum", "0.9"])
        #expect(wrong.status == 64 && wrong.output.contains("--momentum does not apply to the adam optimizer"),
                "\(wrong.output)")
    }
}

@Suite("optimizers: generated Vulkan matches PyTorch's algorithms", .serialized,
       .enabled(if: VulkanProbe.available, VulkanProbe.skipMessage))
struct VulkanOptimizerTests {
    @Test("three steps of sgd, adam and adamw with weight decay and schedules; validation clean")
    func matchesReference() throws {
        let trainer = try GeneratedTrainer.build(OptimizerNets.source, name: "opt_a", target: "vulkan")
        let test = try ReferenceCase(trainer, name: "opt_a-vk", index: 60)
        for c in OptimizerNets.cases {
            let save = GeneratedTrainer.workRoot.appendingPathComponent("opt_a-vk-\(c.optimizer).safetensors")
            let run = try trainer.train(OptimizerNets.arguments(c, test, save: save), environment: ["CNNC_VALIDATION": "1"])
            #expect(run.status == 0, "\(run.output)")
            #expect(!run.output.contains("vulkan validation"), "validation messages:\n\(run.output.prefix(3000))")
            print(try OptimizerNets.check(c, test, save: save, label: "Vulkan"))
        }
    }
}

/// The same three steps in PyTorch itself: opt_a as an nn.Module loads the starting checkpoint, torch.optim's SGD,
/// Adam or AdamW (with LambdaLR for the warm-up and cosine) takes three steps on the batch, and its state_dict must
/// equal the generated trainer's checkpoint. Runs where a Python with torch exists (as PyTorchCheckpointTests);
/// skipped cleanly otherwise.
@Suite("optimizers in PyTorch", .serialized)
struct PyTorchOptimizerTests {
    static let script = """
        import sys, math, numpy as np, torch, torch.nn as nn
        from safetensors_reader import read
        torch.set_default_dtype(torch.float32)
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv1 = nn.Conv2d(2, 3, 3, padding=1, bias=False); self.batchnorm1 = nn.BatchNorm2d(3)
                self.dense1 = nn.Linear(12, 4); self.dense2 = nn.Linear(4, 3)
            def forward(self, x):
                a = nn.functional.max_pool2d(torch.relu(self.batchnorm1(self.conv1(x))), 2)
                return self.dense2(torch.tanh(self.dense1(a.flatten(1))))
        kind, lr, wd, momentum, warmup, start, data, out = sys.argv[1:9]
        lr, wd, momentum, warmup = float(lr), float(wd), float(momentum), int(warmup)
        net = Net(); net.load_state_dict(read(start), strict=True); net.train()
        rows = np.loadtxt(data, delimiter=",", dtype=np.float64, ndmin=2)
        x = torch.tensor(rows[:, :-1], dtype=torch.float32).reshape(-1, 5, 4, 2).permute(0, 3, 1, 2)
        y = torch.tensor(rows[:, -1], dtype=torch.int64)
        if kind == "sgd": opt = torch.optim.SGD(net.parameters(), lr=lr, momentum=momentum, weight_decay=wd)
        elif kind == "adam": opt = torch.optim.Adam(net.parameters(), lr=lr, weight_decay=wd)
        else: opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=wd)
        steps = 3
        def factor(i):  # i = optimizer steps taken; step t = i + 1
            t = i + 1
            if warmup == 0: return 1.0
            if t <= warmup: return t / warmup
            return 0.5 * (1 + math.cos(math.pi * (t - warmup - 1) / (steps - warmup)))
        sched = torch.optim.lr_scheduler.LambdaLR(opt, factor)
        for _ in range(steps):
            opt.zero_grad(); nn.functional.cross_entropy(net(x), y).backward(); opt.step(); sched.step()
        for name, v in net.state_dict().items():
            print(name, " ".join(repr(float(e)) for e in v.flatten().tolist()), file=open(out, "a"))
        """

    @Test("three steps of torch.optim's sgd, adam and adamw equal the generated trainer's", arguments: ["cpu", "vulkan"])
    func matchesTorch(_ target: String) throws {
        guard let python = PyTorchCheckpointTests.python else {
            print("skipped: no Python with torch (set CNNC_TORCH_PYTHON)")
            return
        }
        if target == "vulkan" && !VulkanProbe.available { return }
        let trainer = try GeneratedTrainer.build(OptimizerNets.source, name: "opt_torch", target: target)
        let test = try ReferenceCase(trainer, name: "opt_torch-\(target)", index: 61)
        let dir = GeneratedTrainer.workRoot.appendingPathComponent("opt-torch-\(target)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try PyTorchCheckpointTests.reader.write(to: dir.appendingPathComponent("safetensors_reader.py"), atomically: true,
                                                encoding: .utf8)
        let script = dir.appendingPathComponent("steps.py")
        try Self.script.write(to: script, atomically: true, encoding: .utf8)
        for c in OptimizerNets.cases {
            let save = dir.appendingPathComponent("\(c.optimizer).safetensors")
            let run = try trainer.train(OptimizerNets.arguments(c, test, save: save))
            #expect(run.status == 0, "\(run.output)")
            let out = dir.appendingPathComponent("\(c.optimizer)-torch.txt")
            try? FileManager.default.removeItem(at: out)
            let py = try GeneratedTrainer.run(python, [script.path, c.optimizer, "\(c.lr)", "\(c.weightDecay)",
                                                       "\(c.momentum)", "\(c.warmup ?? 0)", test.weights.path,
                                                       test.data.path, out.path],
                                              environment: ["PYTHONPATH": dir.path])
            #expect(py.status == 0, "\(py.output)")
            let saved = try SafeTensorsFile.read(save)
            var report = "\(target), \(c.optimizer) vs torch.optim: max relative difference"
            for line in try String(contentsOf: out, encoding: .utf8).split(separator: "\n") {
                let fields = line.split(separator: " ")
                let name = String(fields[0]), theirs = fields.dropFirst().compactMap { Double($0) }
                let ours = try #require(saved[name], "no \(name) in the trainer's checkpoint")
                let e = ReferenceCase.relativeError(ours.values, theirs)
                report += ", \(name) \(e)"
                #expect(e < 1e-4, "\(target), \(c.optimizer): \(name) differs from PyTorch's by \(e)")
            }
            print(report)
        }
    }
}
