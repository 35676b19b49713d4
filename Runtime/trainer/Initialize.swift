// Initial weights from the seed: He normal, Glorot uniform or zeros, per the network's parameter table.

/// Fills `network.parameters` (cnnc layout) from a generator seeded with `seed`, parameter by parameter in table
/// order and element by element in cnnc memory order, then tells the network its parameters changed.
func initializeParameters<N: TrainableNetwork>(of network: N, seed: UInt64) {
    let specs = N.info.parameters
    let values = network.parameters
    values.update(repeating: 0, count: N.info.parameterCount)  // anything outside the table stays zero
    var random = TrainerRandom(seed: seed, stream: 0)
    for spec in specs {
        let destination = values + spec.offset
        switch spec.initializer {
        case let .he(fanIn):
            let deviation = (2.0 / Double(max(fanIn, 1))).squareRoot()
            for i in 0..<spec.count { destination[i] = Float(random.normal() * deviation) }
        case let .glorot(fanIn, fanOut):
            let limit = Float((6.0 / Double(max(fanIn + fanOut, 1))).squareRoot())
            for i in 0..<spec.count { destination[i] = random.uniform(limit: limit) }
        case .zeros:
            for i in 0..<spec.count { destination[i] = 0 }
        case .ones:
            for i in 0..<spec.count { destination[i] = 1 }
        }
    }
    network.parametersChanged()
}
