/// A small, graph-shaped picture of an ONNX model: nodes that name the tensors they read and write, constant
/// tensors (initializers), and the typed inputs and outputs. The lowering (`ONNXLowering`) builds it from the
/// typed graph, one mapping per layer kind; the encoder (`ONNXEncoding`) turns it into protobuf bytes. Nothing
/// here knows about cnnc layers, so a new layer kind is one more mapping, and a DAG is just nodes whose inputs
/// name more than one earlier output.
public struct ONNXModel: Sendable, Equatable {
    /// The ONNX IR version: 8 is the one that goes with opset 17 (ONNX 1.12).
    public var irVersion: Int64 = 8
    /// The version of the default operator set (ai.onnx).
    public var opsetVersion: Int64 = 17
    /// ModelProto.producer_name; fixed, as it marks the files cnnc wrote (see `signature`).
    public static let producerName = "cnnc"
    public var producerVersion = "1"
    public var docString = ""
    public var graph: ONNXGraph

    public init(graph: ONNXGraph, docString: String = "") {
        self.graph = graph
        self.docString = docString
    }
}

public struct ONNXGraph: Sendable, Equatable {
    public var name: String
    /// In topological order: every input of a node is a graph input, an initializer or an earlier output.
    public var nodes: [ONNXNode] = []
    public var initializers: [ONNXTensor] = []
    public var inputs: [ONNXValueInfo] = []
    public var outputs: [ONNXValueInfo] = []
    /// The shapes of intermediate tensors, for viewers such as Netron and as a check for runtimes.
    public var valueInfo: [ONNXValueInfo] = []

    public init(name: String) { self.name = name }
}

/// One operator application.
public struct ONNXNode: Sendable, Equatable {
    public var name: String
    /// The operator, e.g. "Conv", from the default domain.
    public var opType: String
    /// Tensor names; an empty name marks an optional input left out.
    public var inputs: [String]
    public var outputs: [String]
    public var attributes: [ONNXAttribute]

    public init(name: String, opType: String, inputs: [String], outputs: [String], attributes: [ONNXAttribute] = []) {
        self.name = name; self.opType = opType; self.inputs = inputs; self.outputs = outputs
        self.attributes = attributes
    }
}

public struct ONNXAttribute: Sendable, Equatable {
    public enum Value: Sendable, Equatable {
        case int(Int64)
        case ints([Int64])
        case float(Float)
    }
    public var name: String
    public var value: Value

    public init(_ name: String, _ value: Value) { self.name = name; self.value = value }
    public static func int(_ name: String, _ v: Int) -> ONNXAttribute { ONNXAttribute(name, .int(Int64(v))) }
    public static func ints(_ name: String, _ v: [Int]) -> ONNXAttribute { ONNXAttribute(name, .ints(v.map(Int64.init))) }
    public static func float(_ name: String, _ v: Float) -> ONNXAttribute { ONNXAttribute(name, .float(v)) }
}

/// The element types cnnc writes, with TensorProto.DataType's numbers.
public enum ONNXElementType: Int64, Sendable, Equatable {
    case float = 1
    case int64 = 7
}

/// A constant tensor, row-major.
public struct ONNXTensor: Sendable, Equatable {
    public enum Values: Sendable, Equatable {
        case float([Float])
        case int64([Int64])
    }
    public var name: String
    public var dims: [Int]
    public var values: Values

    public init(name: String, dims: [Int], values: Values) {
        self.name = name; self.dims = dims; self.values = values
    }

    public var elementType: ONNXElementType {
        switch values {
        case .float: return .float
        case .int64: return .int64
        }
    }
}

/// One dimension of a declared shape: a number, or a name (e.g. "N" for the batch) bound at run time.
public enum ONNXDimension: Sendable, Equatable {
    case value(Int)
    case symbol(String)
}

/// A tensor's name, element type and shape, as graph inputs, outputs and value_info declare them.
public struct ONNXValueInfo: Sendable, Equatable {
    public var name: String
    public var elementType: ONNXElementType
    public var dims: [ONNXDimension]

    public init(name: String, elementType: ONNXElementType = .float, dims: [ONNXDimension]) {
        self.name = name; self.elementType = elementType; self.dims = dims
    }
}
