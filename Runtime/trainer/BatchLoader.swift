// Training batches gathered (and augmented) on a second thread: while the network computes batch b from one
// staging buffer, batch b + 1 is gathered into the other, so gathering and augmentation cost no step time.
// Augmentation happens inside the gather (Dataset.gather with placements): no second pass over the batch.
import Dispatch

/// Two staging buffers and the thread that fills them, for one epoch order at a time.
final class BatchLoader: @unchecked Sendable {
    let data: Dataset
    let batch: Int
    let buffers: [StagingBuffer]
    let augmentation: Augmentation
    let seed: UInt64
    let height: Int, width: Int, channels: Int
    /// The epoch's sample order; set only while no batch is being gathered.
    var order: [Int32] = []
    /// Which samples of each batch this process gathers: its share (DataParallel.swift), all of them alone.
    var split = BatchSplit(chunks: 1, ranks: 1, rank: 0)
    /// The augmentation's draws for the batch being gathered, one array for every batch.
    private var placements: [Placement] = []
    private let queue = DispatchQueue(label: "cnnc.batches")
    private let group = DispatchGroup()

    /// `first` is one staging buffer (the trainer's); a second of the same capacity is made here.
    init(data: Dataset, batch: Int, first: StagingBuffer, augmentation: Augmentation, seed: UInt64,
         height: Int, width: Int, channels: Int) {
        self.data = data
        self.batch = batch
        buffers = [first, StagingBuffer(capacity: first.capacity, sampleSize: data.sampleSize)]
        self.augmentation = augmentation
        self.seed = seed
        self.height = height; self.width = width; self.channels = channels
        placements.reserveCapacity(augmentation.isIdentity ? 0 : batch)
    }

    deinit { group.wait() }

    /// Samples in batch `b` (all ranks' shares together).
    func count(_ b: Int) -> Int { min(batch, data.count - b * batch) }

    /// Gathers this process's share of batch `b` of epoch `epoch` into buffer `b % 2` on this thread. The
    /// augmentation is drawn for the whole batch, so each sample's placement is the same for any number of ranks.
    func load(_ b: Int, epoch: Int) {
        let buffer = buffers[b % 2], first = b * batch, count = count(b)
        let share = split.share(of: count)
        var placed: PlacedBatch? = nil
        if !augmentation.isIdentity {
            augmentation.place(&placements, count: count, seed: seed, epoch: epoch, batch: b + 1)
            placed = PlacedBatch(placements: placements, first: share.lowerBound, height: height, width: width,
                                 channels: channels)
        }
        order.withUnsafeBufferPointer { all in
            data.gather(UnsafeBufferPointer(rebasing: all[first + share.lowerBound..<first + share.upperBound]),
                        images: buffer.images, labels: buffer.labels, placed: placed)
        }
    }

    /// Starts gathering batch `b` on the loader's thread.
    func prefetch(_ b: Int, epoch: Int) {
        queue.async(group: group) { self.load(b, epoch: epoch) }
    }

    /// Waits until the batch being prefetched (if any) is ready.
    func wait() { group.wait() }
}
