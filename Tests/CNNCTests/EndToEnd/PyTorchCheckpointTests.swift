import Foundation
import Testing
@testable import CNNC

/// A checkpoint of the generated trainer loads into the equivalent PyTorch module with `load_state_dict(strict=True)`
/// (names, shapes, dtypes: batchnorm's num_batches_tracked is int64), and PyTorch's evaluation of it (running
/// statistics, no dropout) gives the trainer's test loss. Runs only where a Python with torch exists
/// (CNNC_TORCH_PYTHON, the benchmarks' .venv-bench, or python3); skipped cleanly otherwise.
@Suite("checkpoints in PyTorch", .serialized)
struct PyTorchCheckpointTests {
    static let python: String? = {
        let candidates: [String?] = [ProcessInfo.processInfo.environment["CNNC_TORCH_PYTHON"],
                                     repositoryRoot.appendingPathComponent(".venv-bench/bin/python").path,
                                     "/usr/bin/python3"]
        for case let path? in candidates where FileManager.default.isExecutableFile(atPath: path) {
            if let r = try? GeneratedTrainer.run(path, ["-c", "import torch"]), r.status == 0 { return path }
        }
        return nil
    }()

    static let net = """
        net ptnet
        input 8x8x2
        scale 1/255
        conv 4 3x3 pad=1 bias=none name=c1
        batchnorm relu name=bn1
        conv 4 3x3 pad=1 name=c2
        add bn1 relu name=res
        maxpool 2x2 name=pool
        dense 6 bias=none name=fc1
        batchnorm relu momentum=0.3 name=bn2
        dropout 0.25 name=drop
        dense 3 name=fc2
        softmax
        train epochs=2 batch=16 lr=0.05 momentum=0.9 seed=5
        """

    /// The same network in PyTorch; attribute names are the layer names, so the state_dict keys are cnnc's.
    static let script = """
        import sys, numpy as np, torch, torch.nn as nn
        from safetensors_reader import read
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.c1 = nn.Conv2d(2, 4, 3, padding=1, bias=False); self.bn1 = nn.BatchNorm2d(4)
                self.c2 = nn.Conv2d(4, 4, 3, padding=1); self.pool = nn.MaxPool2d(2)
                self.fc1 = nn.Linear(64, 6, bias=False); self.bn2 = nn.BatchNorm1d(6, momentum=0.3)
                self.drop = nn.Dropout(0.25); self.fc2 = nn.Linear(6, 3)
            def forward(self, x):
                a = torch.relu(self.bn1(self.c1(x)))
                r = self.pool(torch.relu(self.c2(a) + a))
                return self.fc2(self.drop(torch.relu(self.bn2(self.fc1(r.flatten(1))))))
        net = Net()
        state = read(sys.argv[1])
        net.load_state_dict(state, strict=True)
        assert state["bn1.num_batches_tracked"].dtype == torch.int64
        rows = np.loadtxt(sys.argv[2], delimiter=",", dtype=np.float64, ndmin=2)
        x = torch.tensor(rows[:, :-1], dtype=torch.float32).reshape(-1, 8, 8, 2).permute(0, 3, 1, 2) / 255
        y = torch.tensor(rows[:, -1], dtype=torch.int64)
        net.eval()
        with torch.no_grad():
            print(repr(nn.functional.cross_entropy(net(x), y).item()), int(state["bn1.num_batches_tracked"]))
        """

    /// A safetensors reader in plain Python (no safetensors package needed).
    static let reader = """
        import json, struct, numpy as np, torch
        def read(path):
            data = open(path, "rb").read()
            n = struct.unpack("<Q", data[:8])[0]
            header = json.loads(data[8:8 + n])
            out = {}
            for name, e in header.items():
                if name == "__metadata__": continue
                b, end = e["data_offsets"]
                dtype = {"F32": np.float32, "I64": np.int64}[e["dtype"]]
                out[name] = torch.from_numpy(np.frombuffer(data[8 + n + b:8 + n + end], dtype=dtype).copy()
                                             .reshape(e["shape"]))
            return out
        """

    @Test("a trained checkpoint loads strictly into PyTorch and evaluates to the trainer's test loss",
          arguments: ["cpu", "vulkan"])
    func loads(_ target: String) throws {
        guard let python = Self.python else {
            print("skipped: no Python with torch (set CNNC_TORCH_PYTHON)")
            return
        }
        let dir = GeneratedTrainer.workRoot.appendingPathComponent("pytorch-\(target)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        var random = Reference.Random(seed: 3)
        var images: [[Double]] = [], labels: [Int] = []
        for n in 0..<96 {
            let label = n % 3
            images.append((0..<128).map { i in Double(random.next() % 128 + (i % 3 == label ? 100 : 0)) })
            labels.append(label)
        }
        let train = dir.appendingPathComponent("train.csv"), test = dir.appendingPathComponent("test.csv")
        try writeCSV(Array(images[0..<64]), Array(labels[0..<64]), to: train)
        try writeCSV(Array(images[64...]), Array(labels[64...]), to: test)
        let trainer = try GeneratedTrainer.build(Self.net, name: "ptnet", target: target)
        let weights = dir.appendingPathComponent("w.safetensors"), metrics = dir.appendingPathComponent("m.json")
        try? FileManager.default.removeItem(at: weights)
        let run = try trainer.train(["--data", train.path, "--test-data", test.path, "--save", weights.path,
                                     "--metrics", metrics.path, "--threads", "2"])
        #expect(run.status == 0, "\(run.output)")
        let root = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: metrics)) as? [String: Any])
        let ours = try #require((root["final"] as? [String: Any])?["test_loss"] as? Double)
        try Self.reader.write(to: dir.appendingPathComponent("safetensors_reader.py"), atomically: true, encoding: .utf8)
        let script = dir.appendingPathComponent("load.py")
        try Self.script.write(to: script, atomically: true, encoding: .utf8)
        let py = try GeneratedTrainer.run(python, [script.path, weights.path, test.path],
                                          environment: ["PYTHONPATH": dir.path])
        #expect(py.status == 0, "\(py.output)")
        let fields = py.output.split(whereSeparator: \.isWhitespace)
        let theirs = try #require(fields.first.flatMap { Double($0) }, "PyTorch printed: \(py.output)")
        #expect(abs(theirs - ours) <= 1e-4 * max(1, abs(ours)), "PyTorch's test loss \(theirs), the trainer's \(ours)")
        #expect(fields.count > 1 && fields[1] == "8", "2 epochs of 4 steps each: \(py.output)")
    }
}
