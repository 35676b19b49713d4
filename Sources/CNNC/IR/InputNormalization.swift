/// `normalize mean=A[,B,C] std=A[,B,C]`: the input, after `scale`, minus a mean and divided by a standard deviation
/// per channel, y = (x * scale - mean[c]) / std[c], as torchvision's `Normalize` after `ToTensor`. It is part of the
/// network (the `input_scale` kernel, the ONNX graph's first nodes), not of the data loader, so a checkpoint and its
/// export always agree with the `.cnn` that trained it, and the augmentation's zero padding of raw values becomes
/// (0 - mean) / std, as torchvision's `RandomCrop(padding=P)` before `ToTensor()` and `Normalize(...)` gives.
public struct InputNormalization: Sendable, Equatable {
    /// One value per input channel (a single written value is repeated for every channel).
    public var mean: [Double]
    /// One value per input channel, each positive, finite and a normal 32-bit float.
    public var std: [Double]
    /// The operands as written (`mean=0.1307 std=0.3081`), for reports and generated comments.
    public var text: String

    public init(mean: [Double], std: [Double], text: String) {
        self.mean = mean; self.std = std; self.text = text
    }

    /// Whether every channel has the same mean and the same std (one scalar pair describes it).
    public var isUniform: Bool { Set(mean).count <= 1 && Set(std).count <= 1 }
}
