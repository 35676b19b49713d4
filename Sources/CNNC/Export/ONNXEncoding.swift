/// Serializes an `ONNXModel` as an ONNX ModelProto. The field numbers are those of onnx.proto (ONNX 1.12+);
/// each message below lists the ones it writes. Repeated scalars are written packed, which every protobuf
/// parser accepts for proto2's repeated fields.
extension ONNXModel {
    /// The bytes every file cnnc writes starts with: ModelProto.producer_name (field 2) = "cnnc", written
    /// first, so that an existing file can be recognized as cnnc's before it is replaced.
    public static let signature: [UInt8] = [0x12, UInt8(producerName.utf8.count)] + Array(producerName.utf8)

    public func serialized() -> [UInt8] {
        var w = ProtobufWriter()
        // ModelProto: ir_version 1, producer_name 2, producer_version 3, doc_string 6, graph 7, opset_import 8.
        w.string(2, Self.producerName)
        w.int64(1, irVersion)
        w.string(3, producerVersion)
        if !docString.isEmpty { w.string(6, docString) }
        w.message(8) { opset in
            // OperatorSetIdProto: domain 1 (empty: the default ai.onnx domain), version 2.
            opset.string(1, "")
            opset.int64(2, opsetVersion)
        }
        w.message(7) { graph.encode(into: &$0) }
        return w.bytes
    }
}

extension ONNXGraph {
    /// GraphProto: node 1, name 2, initializer 5, input 11, output 12, value_info 13.
    func encode(into w: inout ProtobufWriter) {
        for node in nodes { w.message(1) { node.encode(into: &$0) } }
        w.string(2, name)
        for tensor in initializers { w.message(5) { tensor.encode(into: &$0) } }
        for value in inputs { w.message(11) { value.encode(into: &$0) } }
        for value in outputs { w.message(12) { value.encode(into: &$0) } }
        for value in valueInfo { w.message(13) { value.encode(into: &$0) } }
    }
}

extension ONNXNode {
    /// NodeProto: input 1, output 2, name 3, op_type 4, attribute 5.
    func encode(into w: inout ProtobufWriter) {
        for input in inputs { w.string(1, input) }
        for output in outputs { w.string(2, output) }
        w.string(3, name)
        w.string(4, opType)
        for attribute in attributes { w.message(5) { attribute.encode(into: &$0) } }
    }
}

extension ONNXAttribute {
    /// AttributeProto: name 1, f 2, i 3, ints 8, type 20 (AttributeType FLOAT = 1, INT = 2, INTS = 7).
    func encode(into w: inout ProtobufWriter) {
        w.string(1, name)
        switch value {
        case .float(let f):
            w.float(2, f)
            w.int64(20, 1)
        case .int(let i):
            w.int64(3, i)
            w.int64(20, 2)
        case .ints(let list):
            w.packedInt64s(8, list)
            w.int64(20, 7)
        }
    }
}

extension ONNXTensor {
    /// TensorProto: dims 1, data_type 2, float_data 4, int64_data 7, name 8.
    func encode(into w: inout ProtobufWriter) {
        if !dims.isEmpty { w.packedInt64s(1, dims.map(Int64.init)) }
        w.int64(2, elementType.rawValue)
        switch values {
        case .float(let v): if !v.isEmpty { w.packedFloats(4, v) }
        case .int64(let v): if !v.isEmpty { w.packedInt64s(7, v) }
        }
        w.string(8, name)
    }
}

extension ONNXValueInfo {
    /// ValueInfoProto: name 1, type 2. TypeProto: tensor_type 1. TypeProto.Tensor: elem_type 1, shape 2.
    /// TensorShapeProto: dim 1. TensorShapeProto.Dimension: dim_value 1, dim_param 2.
    func encode(into w: inout ProtobufWriter) {
        w.string(1, name)
        w.message(2) { type in
            type.message(1) { tensor in
                tensor.int64(1, elementType.rawValue)
                tensor.message(2) { shape in
                    for dim in dims {
                        shape.message(1) { d in
                            switch dim {
                            case .value(let n): d.int64(1, Int64(n))
                            case .symbol(let s): d.string(2, s)
                            }
                        }
                    }
                }
            }
        }
    }
}
