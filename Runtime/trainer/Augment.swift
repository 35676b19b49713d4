// Augmentation of training samples, as torchvision's RandomCrop(size, padding=crop) followed by
// RandomHorizontalFlip(): each sample is zero-padded by `crop` pixels on every side, a window of the input's size
// is taken at a random offset in 0...2*crop (rows and columns drawn separately), and then mirrored left-right with
// probability 1/2. Raw values are padded with 0, which the network's `scale` keeps 0 and its `normalize` turns into
// (0 - mean) / std, as torchvision pads before ToTensor and Normalize. The draws come from the seed, the epoch and
// the batch, so a run is reproducible (and an epoch can be replayed) whatever the thread count. The samples are
// placed while the batch is gathered, in the same one pass over each sample as a plain gather.

/// What the trainer does to each training sample (`augment` statement, --augment).
struct Augmentation: Equatable, Sendable {
    var hflip = false
    var crop = 0

    var isIdentity: Bool { !hflip && crop == 0 }

    /// `hflip,crop=4`, or `none`.
    var description: String {
        let parts = (hflip ? ["hflip"] : []) + (crop > 0 ? ["crop=\(crop)"] : [])
        return parts.isEmpty ? "none" : parts.joined(separator: ",")
    }

    /// Parses --augment's value: `none`, or `hflip`, `crop=P` or both, separated by a comma.
    init(parsing text: String, maximumCrop: Int) throws {
        guard text != "none" else { return }
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            if part == "hflip", !hflip {
                hflip = true
            } else if part.hasPrefix("crop="), crop == 0, let p = Int(part.dropFirst(5)), p > 0, p <= maximumCrop {
                crop = p
            } else {
                throw RuntimeError("--augment \(text): expected none, or hflip and/or crop=P (P in 1...\(maximumCrop)) "
                    + "separated by a comma")
            }
        }
    }

    init(hflip: Bool = false, crop: Int = 0) {
        self.hflip = hflip
        self.crop = crop
    }

    /// The draws of batch `batch` (1-based) of epoch `epoch` (1-based) of seed `seed`: where each of the batch's
    /// `count` samples is taken from. The trainer applies them while it gathers the batch (Dataset.gather).
    func placements(count: Int, seed: UInt64, epoch: Int, batch: Int) -> [Placement] {
        var placements: [Placement] = []
        place(&placements, count: count, seed: seed, epoch: epoch, batch: batch)
        return placements
    }

    /// The same draws into `placements` (its old contents replaced, its storage kept: the batch loader reuses one
    /// array for every batch).
    func place(_ placements: inout [Placement], count: Int, seed: UInt64, epoch: Int, batch: Int) {
        placements.removeAll(keepingCapacity: true)
        guard !isIdentity else {
            placements.append(contentsOf: repeatElement(Placement(), count: count))
            return
        }
        var random = TrainerRandom(seed: seed &+ UInt64(epoch) &* 0x9E37_79B9_7F4A_7C15, stream: 2 &+ UInt64(batch))
        for _ in 0..<count {
            var p = Placement()
            if crop > 0 {
                p.dy = Int(random.next() % UInt64(2 * crop + 1)) - crop
                p.dx = Int(random.next() % UInt64(2 * crop + 1)) - crop
            }
            if hflip { p.flip = random.next() >> 63 == 1 }
            placements.append(p)
        }
    }
}

/// Where one augmented sample comes from: output pixel (y, x) is the original's (y + dy, cx + dx), where cx is x,
/// or w - 1 - x when `flip` mirrors the cropped window; zero where that falls outside the original.
struct Placement: Equatable, Sendable {
    var dy = 0, dx = 0
    var flip = false

    var isIdentity: Bool { dy == 0 && dx == 0 && !flip }

    /// Writes the placed sample (h x w x c values, H,W,C order) read from `from` to `to`, converting each value
    /// with `value`: one pass, the padding written as zeros, no copy of the original.
    @inline(__always)
    func copy<Value>(from: UnsafePointer<Value>, to: UnsafeMutablePointer<Float>, height h: Int, width w: Int,
                     channels c: Int, value: (Value) -> Float) {
        // The output columns whose source column lies inside the original: sx = x + dx, or w - 1 - x + dx.
        let first = flip ? max(0, dx) : max(0, -dx), end = flip ? min(w, w + dx) : min(w, w - dx)
        for y in 0..<h {
            let row = to + y * w * c, sy = y + dy
            guard sy >= 0, sy < h, first < end else {
                row.update(repeating: 0, count: w * c)
                continue
            }
            let source = from + sy * w * c
            row.update(repeating: 0, count: first * c)
            (row + end * c).update(repeating: 0, count: (w - end) * c)
            if flip {
                for x in first..<end {
                    let out = row + x * c, inp = source + (w - 1 - x + dx) * c
                    for k in 0..<c { out[k] = value(inp[k]) }
                }
            } else {
                let inp = source + dx * c
                for i in first * c..<end * c { row[i] = value(inp[i]) }
            }
        }
    }
}
