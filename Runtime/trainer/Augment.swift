// Augmentation of training samples, as torchvision's RandomCrop(size, padding=crop) followed by
// RandomHorizontalFlip(): each sample is zero-padded by `crop` pixels on every side, a window of the input's size
// is taken at a random offset in 0...2*crop (rows and columns drawn separately), and then mirrored left-right with
// probability 1/2. Raw values are padded with 0, which the network's `scale` keeps 0 and its `normalize` turns into
// (0 - mean) / std, as torchvision pads before ToTensor and Normalize. The draws come from the seed, the epoch and
// the batch, so a run is reproducible (and an epoch can be replayed) whatever the thread count.

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

    /// Changes the `count` samples (h x w x c values each, H,W,C order) at `images` in place; `scratch` holds one
    /// sample. The draws are those of epoch `epoch`, batch `batch` (both 1-based) of seed `seed`.
    func apply(to images: UnsafeMutablePointer<Float>, count: Int, height h: Int, width w: Int, channels c: Int,
               scratch: UnsafeMutablePointer<Float>, seed: UInt64, epoch: Int, batch: Int) {
        guard !isIdentity else { return }
        var random = TrainerRandom(seed: seed &+ UInt64(epoch) &* 0x9E37_79B9_7F4A_7C15, stream: 2 &+ UInt64(batch))
        let size = h * w * c
        for s in 0..<count {
            let sample = images + s * size
            var dy = 0, dx = 0, flip = false
            if crop > 0 {
                dy = Int(random.next() % UInt64(2 * crop + 1)) - crop
                dx = Int(random.next() % UInt64(2 * crop + 1)) - crop
            }
            if hflip { flip = random.next() >> 63 == 1 }
            scratch.update(from: sample, count: size)
            for y in 0..<h {
                let sy = y + dy
                for x in 0..<w {
                    let cx = flip ? w - 1 - x : x  // the flip mirrors the cropped window
                    let sx = cx + dx
                    let out = sample + (y * w + x) * c
                    if sy < 0 || sy >= h || sx < 0 || sx >= w {
                        for k in 0..<c { out[k] = 0 }
                    } else {
                        let from = scratch + (sy * w + sx) * c
                        for k in 0..<c { out[k] = from[k] }
                    }
                }
            }
        }
    }
}
