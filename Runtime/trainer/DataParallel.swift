// Data parallelism with the same bits for any number of ranks. A global batch of n samples is cut into `chunks`
// equal contiguous chunks (chunk c is samples n*c/chunks ..< n*(c+1)/chunks), and each rank computes
// `chunks / ranks` consecutive ones, one `computeGradients` call each. Every chunk's gradient is thus computed by
// the same calls on the same samples whatever the number of ranks. They are then added in chunk order, each
// weighted by its share of the batch, by a reduce-scatter whose order is fixed here (MPI_Allreduce would add in
// an order MPI chooses): the flat gradient is cut into one slice per rank; one MPI_Alltoall gives rank q slice q
// of every chunk, which it adds up in chunk order; one MPI_Allgather gives every rank all the added slices. Each
// element is the same sum, 0 + g_0*w_0 + g_1*w_1 + ..., for any number of ranks, so 1, 2 or 4 ranks with the same
// --chunks make the same update, bit for bit. A chunk's gradient is the mean over its samples; weighting it by
// (chunk size / n) makes the sum the batch mean. It is not the bits of one process on whole batches: its threads
// add per-thread partial sums for some parameters but reduce others (a large dense weight) over the whole batch
// in one kernel, so the order of additions differs; --chunks 1 in one process is exactly that trainer.
//
// Dropout's masks are keyed by (seed, counter) and the sample's place in the call: the counter of chunk c of
// step s is set to s * chunks + c before its call, so every chunk draws the same masks for any number of ranks
// (other masks than one process on whole batches draws, as good), and a checkpoint's mask_step is steps * chunks.
//
// What it costs: per step each rank sends and receives (ranks - 1)/ranks of (chunks/ranks + 1) gradient buffers,
// as much as a ring allreduce moves with one chunk per rank (the default), and adds chunks/ranks buffers' worth;
// one chunk per rank, no order is given up. More chunks per rank (for the same bits on fewer ranks) cost more
// calls of the network on smaller batches.

/// How a batch is shared: `chunks` chunks, `chunks / ranks` consecutive ones per rank.
struct BatchSplit: Equatable {
    let chunks: Int
    let ranks: Int
    let rank: Int

    var chunksPerRank: Int { chunks / ranks }
    /// Samples of chunk `c` of a batch of `n`.
    func chunk(_ c: Int, of n: Int) -> Range<Int> { n * c / chunks ..< n * (c + 1) / chunks }
    /// This rank's samples of a batch of `n`: its chunks, one contiguous range (n*r/ranks is n*(r*k)/(ranks*k)).
    func share(of n: Int) -> Range<Int> { n * rank / ranks ..< n * (rank + 1) / ranks }
    /// The most samples one chunk of a batch of `batch` holds.
    func largestChunk(_ batch: Int) -> Int { (batch + chunks - 1) / chunks }
    /// The most samples one rank's share of a batch of `batch` holds.
    func largestShare(_ batch: Int) -> Int { (batch + ranks - 1) / ranks }
}

/// One training step's gradient over a global batch, computed in chunks by the team's ranks and combined in
/// chunk order into `network.gradients`, where `applyUpdate` finds it.
final class DataParallelStep<N: TrainableNetwork> {
    let network: N
    let team: Team
    let split: BatchSplit
    let sampleSize: Int
    private let parameterCount: Int
    /// Parameters per slice (the last slice is padded with zeros).
    private let slice: Int
    /// [rank q][local chunk][slice]: this rank's chunks cut into the slices each rank adds up.
    private var mine: [Float]
    /// [chunk][slice]: every chunk's slice of this rank, in chunk order.
    private var received: [Float]
    /// This rank's slice added up; then every rank's, in parameter order.
    private var sums: [Float]
    private var all: [Float]
    private var figures: [Double]
    private var allFigures: [Double]
    /// Each chunk's share of the step's batch, the weight of its gradient.
    private var weights: [Float]

    init(network: N, team: Team, split: BatchSplit, sampleSize: Int) {
        self.network = network
        self.team = team
        self.split = split
        self.sampleSize = sampleSize
        parameterCount = N.info.parameterCount
        slice = (parameterCount + split.ranks - 1) / split.ranks
        mine = [Float](repeating: 0, count: split.chunks * slice)
        received = [Float](repeating: 0, count: split.chunks * slice)
        sums = [Float](repeating: 0, count: slice)
        all = [Float](repeating: 0, count: split.ranks * slice)
        figures = [Double](repeating: 0, count: 2 * split.chunksPerRank + 1)
        allFigures = [Double](repeating: 0, count: (2 * split.chunksPerRank + 1) * split.ranks)
        weights = [Float](repeating: 0, count: split.chunks)
    }

    /// Bytes each rank receives per step: the other ranks' slices of its chunks, then their added slices.
    var bytesReceivedPerStep: Int { (split.ranks - 1) * (split.chunksPerRank + 1) * slice * 4 }

    /// Forward and backward on this rank's chunks of a global batch of `count` samples (`images` and `labels`
    /// hold the rank's share, `split.share(of: count)`, from its first sample). Returns the whole batch's loss and
    /// hits, and the largest signal number any rank has received (0: none), so that all ranks stop together.
    /// `step`: the steps taken before this one (it keys dropout's masks).
    func computeGradients(images: UnsafePointer<Float>, labels: UnsafePointer<Int32>, count: Int, step: Int,
                          signal: Int32) -> (result: StepResult, signal: Int32) {
        let p = parameterCount, s = slice, k = split.chunksPerRank, first = split.share(of: count).lowerBound
        // One chunk per rank and slices without padding: `gradients` is already laid out slice by slice, so it is
        // sent and received in place (two fewer passes over the gradient per step).
        let direct = k == 1 && split.ranks * s == p
        mine.withUnsafeMutableBufferPointer { mine in
            /// Slice q of this rank's chunk `local` goes to rank q.
            func slot(_ q: Int, _ local: Int) -> UnsafeMutablePointer<Float> { mine.baseAddress! + (q * k + local) * s }
            for local in 0..<k {
                let samples = split.chunk(split.rank * k + local, of: count)
                guard !samples.isEmpty else {  // a last batch smaller than the chunk count
                    if direct { network.gradients.update(repeating: 0, count: p) }
                    for q in 0..<split.ranks where !direct { slot(q, local).update(repeating: 0, count: s) }
                    figures[2 * local] = 0
                    figures[2 * local + 1] = 0
                    continue
                }
                let offset = samples.lowerBound - first
                keyMasks(step * split.chunks + split.rank * split.chunksPerRank + local)
                let result = network.computeGradients(images: images + offset * sampleSize, labels: labels + offset,
                                                      count: samples.count)
                network.synchronizeParameters()  // the threads' sums added into `gradients`
                for q in 0..<split.ranks where !direct {
                    let lo = min(q * s, p), n = min(s, p - lo)
                    slot(q, local).update(from: network.gradients + lo, count: n)
                    (slot(q, local) + n).update(repeating: 0, count: s - n)
                }
                figures[2 * local] = result.lossSum
                figures[2 * local + 1] = Double(result.correct)
            }
        }
        keyMasks((step + 1) * split.chunks)  // what a checkpoint saves: the same for any number of ranks
        figures[2 * split.chunksPerRank] = Double(signal)
        mine.withUnsafeBufferPointer { m in
            received.withUnsafeMutableBufferPointer {
                team.allToAll(direct ? UnsafePointer(network.gradients) : m.baseAddress!, count: k * s, into: $0.baseAddress!)
            }
        }
        figures.withUnsafeBufferPointer { f in
            allFigures.withUnsafeMutableBufferPointer { team.allGather(f.baseAddress!, count: f.count, into: $0.baseAddress!) }
        }
        // This rank's slice of every chunk lies in `received` in chunk order (rank r's are chunks r*k ..< (r+1)*k).
        for c in 0..<split.chunks { self.weights[c] = Float(split.chunk(c, of: count).count) / Float(count) }
        let weights = self.weights  // a local reference for the loops below (no copy)
        received.withUnsafeBufferPointer { received in
            sums.withUnsafeMutableBufferPointer { sums in
                let base = received.baseAddress!, sum = sums.baseAddress!
                for i in 0..<s { sum[i] = 0 + base[i] * weights[0] }  // 0 + x: as from a zeroed sum
                for c in 1..<max(split.chunks, 1) {
                    let chunk = base + c * s, w = weights[c]
                    for i in 0..<s { sum[i] += chunk[i] * w }
                }
            }
        }
        sums.withUnsafeBufferPointer { m in
            if direct {
                team.allGather(m.baseAddress!, count: s, into: network.gradients)
            } else {
                all.withUnsafeMutableBufferPointer { team.allGather(m.baseAddress!, count: s, into: $0.baseAddress!) }
                all.withUnsafeBufferPointer { network.gradients.update(from: $0.baseAddress!, count: p) }
            }
        }
        var lossSum = 0.0, correct = 0, stop: Int32 = 0
        let stride = 2 * split.chunksPerRank + 1
        for r in 0..<split.ranks {
            for local in 0..<split.chunksPerRank {
                lossSum += allFigures[r * stride + 2 * local]
                correct += Int(allFigures[r * stride + 2 * local + 1])
            }
            stop = max(stop, Int32(allFigures[r * stride + stride - 1]))
        }
        return (StepResult(lossSum: lossSum, correct: correct), stop)
    }

    /// Sets the counter dropout's masks are keyed by (the network's `mask_step`), its other state untouched.
    private func keyMasks(_ counter: Int) {
        network.restoreTrainingState(TrainingState(arrays: [], counters: [("mask_step", Int64(counter))]))
    }

    /// Loss sum and hits over `set`, split across the ranks in units of `unit` samples (unit j goes to rank
    /// j % ranks) and added in unit order: the same figures for every number of ranks with the same unit.
    func evaluate(_ set: Dataset, staging: StagingBuffer, unit: Int) -> (lossSum: Double, correct: Int) {
        let units = (set.count + unit - 1) / unit
        let perRank = (units + split.ranks - 1) / split.ranks
        var mine = [Double](repeating: 0, count: 2 * perRank)
        for k in 0..<perRank {
            let j = split.rank + k * split.ranks
            guard j < units else { break }
            let start = j * unit, count = min(unit, set.count - start)
            staging.gatherInOrder(set, start: start, count: count)
            let result = network.evaluate(images: staging.images, labels: staging.labels, count: count)
            mine[2 * k] = result.lossSum
            mine[2 * k + 1] = Double(result.correct)
        }
        var all = [Double](repeating: 0, count: 2 * perRank * split.ranks)
        mine.withUnsafeBufferPointer { m in
            all.withUnsafeMutableBufferPointer { team.allGather(m.baseAddress!, count: m.count, into: $0.baseAddress!) }
        }
        var lossSum = 0.0, correct = 0
        for j in 0..<units {
            let at = (j % split.ranks) * 2 * perRank + 2 * (j / split.ranks)
            lossSum += all[at]
            correct += Int(all[at + 1])
        }
        return (lossSum, correct)
    }
}
