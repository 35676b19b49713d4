/// The shape of one sample's activation. Spatial tensors are H x W x C (stored channel-innermost,
/// NHWC with the batch). Flat tensors have `flat` set: after `dense` h = w = 1; after `flatten` the dimensions of
/// the flattened tensor are kept (see `flattened`).
public struct Shape: Sendable, Equatable, Hashable, CustomStringConvertible {
    public var h: Int
    public var w: Int
    public var c: Int
    public var flat: Bool

    public init(h: Int, w: Int, c: Int) {
        self.h = h; self.w = w; self.c = c; self.flat = false
    }

    public static func flat(_ n: Int) -> Shape {
        var s = Shape(h: 1, w: 1, c: n)
        s.flat = true
        return s
    }

    /// The flat view of a spatial tensor: the same memory (H,W,C order), with its dimensions kept so that the
    /// layers reading it (dense weights, biases) can map their parameters to PyTorch's C,H,W flatten order.
    public static func flattened(_ s: Shape) -> Shape {
        var f = s
        f.flat = true
        return f
    }

    /// Elements per sample, saturating at `Int.max` when h x w x c does not fit in 64 bits (so a shape that large
    /// fails every limit check instead of trapping; shape inference rejects it before anything else sees it).
    public var count: Int { Checked.product(h, w, c) ?? Int.max }

    public var description: String { flat ? "\(count)" : "\(h)x\(w)x\(c)" }
}

/// Two sizes written `A` or `AxB` in the source: kernel and stride sizes, as (y, x).
public struct Size2: Sendable, Equatable, Hashable, CustomStringConvertible {
    public var y: Int
    public var x: Int
    public init(_ y: Int, _ x: Int) { self.y = y; self.x = x }
    public var description: String { "\(y)x\(x)" }
}

/// Padding as written: explicit P on every side, `same` (TensorFlow's SAME) or `valid` (0).
public enum PaddingSpec: Sendable, Equatable, Hashable {
    case explicit(Int)
    case same
}

/// Padding resolved against an input size: cells added on each side.
public struct Padding: Sendable, Equatable, Hashable, CustomStringConvertible {
    public var top: Int, left: Int, bottom: Int, right: Int
    public init(top: Int, left: Int, bottom: Int, right: Int) {
        self.top = top; self.left = left; self.bottom = bottom; self.right = right
    }
    public static let zero = Padding(top: 0, left: 0, bottom: 0, right: 0)
    public var isZero: Bool { self == .zero }
    public var description: String {
        if top == bottom && left == right && top == left { return "\(top)" }
        return "t\(top) l\(left) b\(bottom) r\(right)"
    }
}

/// A sliding window (convolution or pooling) resolved against its input: the output size and exact padding.
public struct Window: Sendable, Equatable, Hashable {
    public var kernel: Size2
    public var stride: Size2
    public var padding: Padding
    public init(kernel: Size2, stride: Size2, padding: Padding) {
        self.kernel = kernel; self.stride = stride; self.padding = padding
    }
    /// Output rows/columns for an input of `h` x `w`. Sizes, kernel, stride and padding are each at most
    /// `Limits.maxNumber` (10^6) times a small factor, so the sums here cannot overflow.
    public func output(h: Int, w: Int) -> (h: Int, w: Int) {
        ((h + padding.top + padding.bottom - kernel.y) / stride.y + 1,
         (w + padding.left + padding.right - kernel.x) / stride.x + 1)
    }
}
