/// Kernel planning: orders the fused groups' kernels into one training step, names every buffer, and
/// shares gradient storage between buffers whose lifetimes do not overlap.
public enum Planner {
    public static func plan(_ net: Network, groups: [FusedGroup]) -> KernelPlan {
        var buffers: [PlanBuffer] = []
        var kernels: [Kernel] = []
        var index: [String: Int] = [:]  // buffer name -> position in `buffers`
        func add(_ name: String, _ role: BufferRole, _ shape: Shape, integer: Bool = false, storage: String? = nil) {
            index[name] = index[name] ?? buffers.count
            buffers.append(PlanBuffer(name: name, role: role, shape: shape, isInteger: integer, storage: storage ?? name,
                                      firstUse: -1, lastUse: -1))
        }

        // Parameters: one flat array, each layer's in source order.
        var offsets: [String: Int] = [:]
        var count = 0
        // Trainable parameters first, then the buffers: the optimizer runs over [0, trainableCount) alone.
        for p in net.state.filter({ !$0.isBuffer }) + net.state.filter(\.isBuffer) {
            offsets[p.name] = count
            count += p.count
        }

        // Forward: the scaled input, then one output buffer per group (flatten aliases its input). Every tensor of
        // the graph that survives fusion lives in one buffer, found by its name.
        add("input", .input, net.input)
        add("labels", .labels, .flat(1), integer: true)
        var bufferOf = [Network.inputTensor: "input"]
        if net.transformsInput {
            add("x", .activation, net.input)
            kernels.append(Kernel(name: "input_scale", phase: .forward, group: nil,
                                  operands: Operands(input: "input", output: "x"), parameters: [],
                                  parameterGradients: [], macs: 0, location: nil))
            bufferOf[Network.inputTensor] = "x"
        }
        func inputBuffer(_ g: FusedGroup) -> String { bufferOf[g.inputs[0]]! }
        for (gi, g) in groups.enumerated() {
            let x = inputBuffer(g)
            let out = g.op == .softmax ? "probs" : "\(g.name)_out"
            bufferOf[g.outputTensor] = out
            var operands = Operands(input: x, output: out, otherInputs: g.inputs.dropFirst().map { bufferOf[$0]! })
            switch g.op {
            case .flatten:
                add(out, .activation, g.output, storage: buffers[index[x]!].storage)
                continue
            case .pool(.max, _) where g.needsBackward:
                add("\(g.name)_argmax", .index, g.output, integer: true)
                operands.argmax = "\(g.name)_argmax"
            case .batchnorm:
                let layer = net.layers[g.layers[0]]
                operands.statistics = "\(g.name)_stats"
                add("\(g.name)_stats", .statistics, .flat(4 * Lowering.BatchNormShape(g.input).channels))
                kernels.append(Kernel(name: "\(g.name)_statistics", phase: .forward, group: gi,
                                      operands: Operands(input: x, statistics: operands.statistics),
                                      parameters: layer.buffers.map(\.name), parameterGradients: [], macs: 0,
                                      location: g.location, overBatch: true))
                add(out, .activation, g.output)
                kernels.append(Kernel(name: "\(g.name)_forward", phase: .forward, group: gi, operands: operands,
                                      parameters: layer.parameters.map(\.name), parameterGradients: [], macs: 0,
                                      location: g.location))
                continue
            default: break
            }
            add(out, .activation, g.output)
            kernels.append(Kernel(name: "\(g.name)_forward", phase: .forward, group: gi, operands: operands,
                                  parameters: g.parameters.map(\.name), parameterGradients: [], macs: g.forwardMACs,
                                  location: g.location))
        }

        // Loss: softmax cross-entropy. Its gradient with respect to the softmax input seeds the backward pass.
        add("loss", .loss, .flat(1))
        let last = groups.count - 1
        let hasSoftmax = last >= 0 && groups[last].op == .softmax
        let backwardFrom = hasSoftmax ? last - 1 : last
        // The gradient buffer of each tensor whose gradient the backward pass computes, by tensor name.
        var gradientOf: [String: String] = [:]
        func gradient(of tensor: String, _ shape: Shape, aliasing: String? = nil) -> String {
            let name = "d_\(bufferOf[tensor]!)"
            let storage = aliasing.map { buffers[index[$0]!].storage }
            add(name, .gradient, shape, storage: storage)
            gradientOf[tensor] = name
            return name
        }
        let seed = backwardFrom >= 0 ? gradient(of: groups[backwardFrom].outputTensor, groups[backwardFrom].output) : nil
        // The logits: what the softmax reads, or the last group's output where no softmax ends the network.
        let logits = last < 0 ? bufferOf[Network.inputTensor]!
            : hasSoftmax ? inputBuffer(groups[last]) : bufferOf[groups[last].outputTensor]!
        kernels.append(Kernel(name: hasSoftmax ? "\(groups[last].name)_xent" : "xent", phase: .loss,
                              group: hasSoftmax ? last : nil,
                              operands: Operands(input: logits, inputGradient: seed, probabilities: hasSoftmax ? "probs" : nil,
                                                 labels: "labels", loss: "loss"),
                              parameters: [], parameterGradients: [], macs: 0,
                              location: hasSoftmax ? groups[last].location : nil))

        // Backward: groups in reverse source order (a reverse topological order of the graph); a group's input
        // gradient is the gradient of the tensor it reads. A tensor read by several groups gets the sum of their
        // gradients: the first reader the backward pass reaches (the last in source order) writes the tensor's
        // gradient buffer, each later one writes a term of its own that a sum kernel right after adds into it, so
        // the gradient is complete before its producer's backward kernel runs.
        var learnable = [Network.inputTensor: net.inputGradient]
        for l in net.layers { learnable[l.name] = l.needsBackward }
        var sums: [Kernel] = []
        func inputGradient(_ g: FusedGroup, _ gi: Int, input i: Int, aliasing: String? = nil) -> String {
            let first = net.layers[g.layers[0]]
            let tensor = g.inputs[i], shape = i < first.inputShapes.count ? first.inputShapes[i] : g.output
            guard let total = gradientOf[tensor] else { return gradient(of: tensor, shape, aliasing: aliasing) }
            let term = "\(g.name)_dterm\(i)"
            add(term, .gradient, shape, storage: aliasing.map { buffers[index[$0]!].storage })
            sums.append(Kernel(name: "\(g.name)_backward_sum\(i)", phase: .backward, group: gi,
                               operands: Operands(inputGradient: total, gradientTerm: term), parameters: [],
                               parameterGradients: [], macs: 0, location: g.location))
            return term
        }
        if backwardFrom >= 0 {
            for gi in stride(from: backwardFrom, through: 0, by: -1) where groups[gi].needsBackward {
                let g = groups[gi]
                let dy = gradientOf[g.outputTensor]!
                var operands = Operands(input: inputBuffer(g), savedOutput: bufferOf[g.outputTensor]!, outputGradient: dy)
                if case .pool(.max, _) = g.op { operands = Operands(argmax: "\(g.name)_argmax", outputGradient: dy) }
                // Dropout's backward recomputes its mask: it reads neither its input nor its output.
                if case .dropout = g.op { operands = Operands(outputGradient: dy) }
                sums = []
                if case .batchnorm = g.op {
                    // The sums over the batch (the scale's and shift's gradients) first, then each sample's dx.
                    let names = net.layers[g.layers[0]].parameters.map(\.name)
                    operands.statistics = "\(g.name)_stats"
                    kernels.append(Kernel(name: "\(g.name)_backward_sums", phase: .backward, group: gi,
                                          operands: operands, parameters: [], parameterGradients: names, macs: 0,
                                          location: g.location, overBatch: true))
                    guard g.needsInputGradient && learnable[g.inputs[0]]! else { continue }
                    operands.inputGradient = inputGradient(g, gi, input: 0)
                    kernels.append(Kernel(name: "\(g.name)_backward", phase: .backward, group: gi, operands: operands,
                                          parameters: names, parameterGradients: [], macs: 0, location: g.location))
                    kernels += sums
                    continue
                }
                if g.needsInputGradient && learnable[g.inputs[0]]! {
                    if g.op == .flatten {
                        _ = inputGradient(g, gi, input: 0, aliasing: dy)
                        kernels += sums
                        continue
                    }
                    operands.inputGradient = inputGradient(g, gi, input: 0)
                } else if g.op == .flatten {
                    continue
                }
                // A residual's gradient is dz, which the kernel leaves in its output gradient's storage (in place
                // of dy): the residual's gradient buffer (or its term of a sum) is that storage.
                let residualsFrom = g.inputs.count - g.residuals
                operands.otherInputGradients = g.inputs.indices.dropFirst().map { i in
                    guard learnable[g.inputs[i]]! else { return nil }
                    return inputGradient(g, gi, input: i, aliasing: i >= residualsFrom ? dy : nil)
                }
                kernels.append(Kernel(name: "\(g.name)_backward", phase: .backward, group: gi, operands: operands,
                                      parameters: g.weight.map { [$0.name] } ?? [],
                                      parameterGradients: g.parameters.map(\.name), macs: g.backwardMACs,
                                      location: g.location))
                kernels += sums
            }
        }
        kernels.append(Kernel(name: "update", phase: .update, group: nil, operands: Operands(),
                              parameters: net.parameters.map(\.name), parameterGradients: net.parameters.map(\.name),
                              macs: 0, location: nil))

        // Lifetimes, then gradient slots: first fit over non-overlapping lifetimes.
        for (ki, k) in kernels.enumerated() {
            for name in k.reads + k.writes {
                guard let bi = index[name] else { continue }
                if buffers[bi].firstUse < 0 { buffers[bi].firstUse = ki }
                buffers[bi].lastUse = ki
            }
        }
        assignGradientSlots(&buffers)
        return KernelPlan(network: net, groups: groups, buffers: buffers, kernels: kernels, parameters: net.state,
                          parameterOffsets: offsets, parameterCount: count)
    }

    private static func assignGradientSlots(_ buffers: inout [PlanBuffer]) {
        // A buffer and the views aliasing it (flatten) share one lifetime: the union of theirs.
        var span: [String: (Int, Int)] = [:]
        for b in buffers where b.role == .gradient && b.firstUse >= 0 {
            let s = span[b.storage] ?? (b.firstUse, b.lastUse)
            span[b.storage] = (min(s.0, b.firstUse), max(s.1, b.lastUse))
        }
        var slotEnds: [Int] = []   // last use of what currently occupies each slot
        var slotOf: [String: String] = [:]
        for b in buffers where b.role == .gradient && b.storage == b.name {
            guard let (first, last) = span[b.name] else { continue }
            let slot = slotEnds.firstIndex { $0 < first } ?? slotEnds.count
            if slot == slotEnds.count { slotEnds.append(last) } else { slotEnds[slot] = last }
            slotOf[b.name] = "grad\(slot)"
        }
        for i in buffers.indices where buffers[i].role == .gradient {
            buffers[i].storage = slotOf[buffers[i].storage] ?? buffers[i].storage
        }
    }
}
