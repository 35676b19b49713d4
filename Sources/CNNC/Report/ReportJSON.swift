/// A JSON value whose objects keep their keys in the order written, so that the report's JSON is deterministic
/// and reads in the same order as the text report. Integers stay exact.
enum JSONValue {
    case int(Int)
    case uint(UInt64)
    case double(Double)
    case string(String)
    case bool(Bool)
    case null
    case array([JSONValue])
    case object([(String, JSONValue)])

    /// Pretty-printed with two-space indents; arrays of scalars stay on one line.
    func serialized(indent: Int = 0) -> String {
        let pad = String(repeating: "  ", count: indent)
        let inner = String(repeating: "  ", count: indent + 1)
        switch self {
        case let .int(v): return String(v)
        case let .uint(v): return String(v)
        case let .double(v):
            if v.isNaN || v.isInfinite { return "null" }
            if v == v.rounded() && abs(v) < 1e15 { return String(Int(v)) }
            return "\(v)"
        case let .string(s): return JSONValue.quote(s)
        case let .bool(b): return b ? "true" : "false"
        case .null: return "null"
        case let .array(items):
            if items.isEmpty { return "[]" }
            if items.allSatisfy(\.isScalar) {
                return "[" + items.map { $0.serialized() }.joined(separator: ", ") + "]"
            }
            return "[\n" + items.map { inner + $0.serialized(indent: indent + 1) }.joined(separator: ",\n") + "\n" + pad + "]"
        case let .object(fields):
            if fields.isEmpty { return "{}" }
            return "{\n" + fields.map { inner + JSONValue.quote($0.0) + ": " + $0.1.serialized(indent: indent + 1) }
                .joined(separator: ",\n") + "\n" + pad + "}"
        }
    }

    var isScalar: Bool {
        switch self {
        case .array, .object: return false
        default: return true
        }
    }

    static func quote(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 {
                    let hex = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }
}

// MARK: - The report as JSON (keys documented in Docs/report-json.md)

extension ReportModel {
    func json() -> String {
        func ints(_ v: [Int]) -> JSONValue { .array(v.map { .int($0) }) }
        func shape(_ s: Shape) -> JSONValue { ints(Self.shapeArray(s)) }

        let layers: [JSONValue] = rows.map { r in
            let l = r.layer
            let params: [JSONValue] = l.parameters.map { p in
                .object([
                    ("name", .string(p.name)),
                    ("shape", ints(p.layout.torchShape)),
                    ("cnnc_shape", ints(p.layout.internalShape)),
                    ("count", .int(p.count)),
                    ("offset", .int(plan.parameterOffsets[p.name] ?? 0)),
                ])
            }
            return .object([
                ("index", .int(r.index)),
                ("name", .string(l.name)),
                ("kind", .string(l.op.keyword)),
                ("op", .string(r.operation)),
                ("line", .int(l.location.line)),
                ("inputs", .array(l.inputs.map { .string($0) })),
                ("input", shape(l.input)),
                ("output", shape(l.output)),
                ("parameters", .array(params)),
                ("parameter_count", .int(l.parameterCount)),
                ("forward_macs", .int(l.forwardMACs)),
                ("backward_macs", .int(l.backwardMACs)),
                ("needs_input_gradient", .bool(l.needsInputGradient)),
                ("group", .string(r.group)),
            ])
        }

        let groups: [JSONValue] = plan.groups.map { g in
            .object([
                ("name", .string(g.name)),
                ("op", .string(PlanPrinter.describe(g))),
                ("layers", .array(g.layers.map { .string(network.layers[$0].name) })),
                ("input", shape(g.input)),
                ("output", shape(g.output)),
                ("forward_macs", .int(g.forwardMACs)),
                ("backward_macs", .int(g.backwardMACs)),
                ("fused", .bool(g.isFused)),
            ])
        }

        let t = network.train
        let root: JSONValue = .object([
            ("format", .string("cnnc-report")),
            ("version", .int(1)),
            ("network", .string(network.name)),
            ("source", .string(network.sourceFile)),
            ("input", shape(network.input)),
            ("output", shape(network.output)),
            ("scale", .double(network.scale)),
            ("scale_text", network.scaleText.map { .string($0) } ?? .null),
            ("normalize", network.normalization.map { n in
                .object([("mean", .array(n.mean.map { .double($0) })), ("std", .array(n.std.map { .double($0) }))])
            } ?? .null),
            ("train", .object([
                ("epochs", .int(t.epochs)),
                ("batch", .int(t.batch)),
                ("lr", .double(t.learningRate)),
                ("optimizer", .string(t.optimizer.kind.rawValue)),
                ("momentum", .double(t.momentum)),
                ("beta1", .double(t.optimizer.beta1)),
                ("beta2", .double(t.optimizer.beta2)),
                ("eps", .double(t.optimizer.eps)),
                ("weight_decay", .double(t.optimizer.effectiveWeightDecay)),
                ("seed", .uint(t.seed)),
            ])),
            ("layers", .array(layers)),
            ("totals", .object([
                ("parameters", .int(network.parameterCount)),
                ("forward_macs", .int(network.forwardMACs)),
                ("backward_macs", .int(network.backwardMACs)),
                ("training_flops", .int(network.trainingFLOPs)),
            ])),
            ("batch", .int(batch)),
            ("per_batch", .object([
                ("forward_macs", .int(network.forwardMACs * batch)),
                ("backward_macs", .int(network.backwardMACs * batch)),
                ("training_flops", .int(batchTrainingFLOPs)),
            ])),
            ("memory_bytes", .object([
                ("weights", .int(parameterBytes)),
                ("gradients", .int(parameterBytes)),
                ("optimizer", .int(optimizerBytes)),
                ("buffers", .int(bufferBytes)),
                ("activations", .int(activationBytes)),
                ("total", .int(totalBytes)),
            ])),
            ("groups", .array(groups)),
        ])
        return root.serialized() + "\n"
    }
}
