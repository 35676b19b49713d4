/// The conv weight gradient a row at a time (`ConvWeightGradientBlocking.sharedTaps` > 1, stride 1 along x): each
/// input value in[n,iy,ix,c] is loaded once and feeds every tap kx of row ky, whose output is ox = ix + pad - kx.
/// Tap by tap, with 16 filters, every FMA needs a load of its own; here a broadcast serves kw FMAs per vector.
/// Each accumulator still sums its tap's products in output order, as tap by tap does.
extension CKernels {
    func rowWeightGradient(_ c: inout CodeWriter, _ g: FusedGroup, filters oc: Int, window w: Window,
                           _ b: ConvWeightGradientBlocking) {
        let i = g.input, o = g.output, k = w.kernel.x, pad = w.padding.left
        let (cb, group, vectors) = (b.channels, b.samples, oc / 16)
        c.line("// weight gradient, a row at a time: in[n,iy,ix,c] feeds all \(k) taps kx of row ky (output "
               + "ox = \(Index.plus("ix", pad)) - kx);")
        c.line("// \(cb) channel(s) x \(k) taps x \(16 * vectors) filters of accumulators in registers through "
               + "\(group) sample(s) at a time, then added to dweight")
        // Accumulator of tap kx, channel j (of the block), filter vector v.
        let acc = { (kx: Int, j: Int, v: Int) in "a\(kx)_\(j)_\(v)" }
        c.block("for (int ky = 0; ky < \(w.kernel.y); ky++)") { c in
            outputRange("oy", tap: "ky", stride: w.stride.y, pad: w.padding.top, input: i.h, outputs: o.h)
                .forEach { c.line($0) }
            c.loop("SCALAR_LOOP ", "c0", to: i.c, step: cb) { c in
                sampleGroups(&c, samples: group, input: i, output: o, filters: oc, window: w) { c in
                    for kx in 0..<k {
                        let names = (0..<cb).flatMap { j in (0..<vectors).map { acc(kx, j, $0) + " = {0}" } }
                        c.line("vf16 " + names.joined(separator: ", ") + ";")
                    }
                } row: { c in
                    // Input columns whose every tap has its output inside the row: [lo, hi); the columns
                    // before and after are printed one by one with the taps they have.
                    let lo = max(0, k - 1 - pad), hi = max(lo, min(i.w, o.w - pad))
                    let taps = { (ix: Int) in (0..<k).filter { kx in (0..<o.w).contains(ix + pad - kx) } }
                    for ix in 0..<min(lo, i.w) where !taps(ix).isEmpty {
                        rowStep(&c, column: "\(ix)", taps: taps(ix), pad: pad, channels: cb, vectors: vectors,
                                input: i, filters: oc, acc: acc)
                    }
                    if hi - lo == 1 {
                        rowStep(&c, column: "\(lo)", taps: Array(0..<k), pad: pad, channels: cb, vectors: vectors,
                                input: i, filters: oc, acc: acc)
                    } else if hi > lo {
                        c.block("for (int ix = \(lo); ix < \(hi); ix++)") { c in
                            rowStep(&c, column: "ix", taps: Array(0..<k), pad: pad, channels: cb,
                                    vectors: vectors, input: i, filters: oc, acc: acc, inBlock: false)
                        }
                    }
                    for ix in max(hi, min(lo, i.w))..<i.w where !taps(ix).isEmpty {
                        rowStep(&c, column: "\(ix)", taps: taps(ix), pad: pad, channels: cb, vectors: vectors,
                                input: i, filters: oc, acc: acc)
                    }
                } flush: { c in
                    // dweight[ky, kx, c0 + j, :] of each tap kx and channel j of the block, one vector per line
                    c.line("float* restrict dw = dweight + (ky * \(k * i.c) + c0) * \(oc);")
                    for kx in 0..<k {
                        for j in 0..<cb {
                            for v in 0..<vectors {
                                let at = Index.plus("dw", (kx * i.c + j) * oc + 16 * v)
                                c.line("vf16_store(\(at), vf16_load(\(at)) + \(acc(kx, j, v)));")
                            }
                        }
                    }
                }
            }
        }
    }

    /// One input column `column` of a row: its dz vectors for each tap in `taps`, then each channel's value
    /// broadcast into every tap's accumulators; in a block of its own unless it is a loop's body.
    private func rowStep(_ c: inout CodeWriter, column ix: String, taps: [Int], pad: Int, channels cb: Int,
                         vectors: Int, input i: Shape, filters oc: Int, acc: (Int, Int, Int) -> String,
                         inBlock: Bool = true) {
        func body(_ c: inout CodeWriter) {
            let literal = Int(ix)
            c.line("const float* restrict x = " + (literal.map { Index.plus("xr", $0 * i.c) } ?? "xr + \(ix) * \(i.c)")
                   + ";")
            for kx in taps {
                // dz of output ox = ix + pad - kx, vector v of its filters
                let loads = (0..<vectors).map { v -> String in
                    let at: String
                    if let literal { at = Index.plus("dr", (literal + pad - kx) * oc + 16 * v) } else {
                        let ox = Index.plus(ix, pad - kx)
                        at = Index.plus("dr + \(ox == ix ? ox : "(\(ox))") * \(oc)", 16 * v)
                    }
                    return "d\(kx)_\(v) = vf16_load(\(at))"
                }
                c.line("const vf16 " + loads.joined(separator: ", ") + ";")
            }
            for j in 0..<cb {
                let updates = taps.flatMap { kx in (0..<vectors).map { v in "\(acc(kx, j, v)) += v * d\(kx)_\(v);" } }
                c.line("{ const float v = x[\(j)]; " + updates.joined(separator: " ") + " }")
            }
        }
        if inBlock { c.block("") { body(&$0) } } else { body(&c) }
    }
}
