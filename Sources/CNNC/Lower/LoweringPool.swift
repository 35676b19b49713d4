/// Pooling, forward and backward, written once for both targets: the window loops, the padding skips and the
/// count of a window's cells come from here. The targets differ in two parameters: `vectorWidth` (a C thread takes
/// 16 channels at a time in vector registers) and `inputGradient` (a C thread scatters each output's gradient into
/// the inputs of its window, sample by sample; an invocation per input element gathers it, without atomics).
extension Lowering {
    /// y = the maximum of each window's cells inside the input (with its offset in the sample, `arg`, when a
    /// backward pass needs it), or their mean; padded cells are skipped and not counted.
    static func poolForward(_ plan: KernelPlan, _ ki: Int, _ g: FusedGroup, _ kind: PoolKind, _ w: Window,
                            _ target: LoweringTarget) -> LoweredKernel {
        let k = plan.kernels[ki], i = g.input, o = g.output
        let oy = coordinate("oy", o.h), ox = coordinate("ox", o.w), ch = coordinate("ch", o.c)
        let cell = cellOffset("iy", "ix", ch, i)
        let x: Expr = .load("x", .wide("n") * .int(i.count) + cell)
        let at: Expr = .wide("n") * .int(o.count) + cellOffset(oy, ox, ch, o)
        var arrays = [buffer(plan, k.operands.input!, as: "x", .read), buffer(plan, k.operands.output!, as: "y", .write)]
        var body: [Stmt]
        let what: String
        switch kind {
        case .max:
            let argmax = k.operands.argmax
            if let argmax { arrays.append(buffer(plan, argmax, as: "arg", .write)) }
            // The first maximum wins; NaN never does.
            var take: [Stmt] = [.assign("best", "v")]
            if argmax != nil { take.append(.assign("at", cell)) }
            body = [.variable("best", .float, .negativeInfinity)]
            if argmax != nil { body.append(.variable("at", .int, 0)) }
            body.append(taps(w, i, oy: oy, ox: ox, [.constant("v", .float, x), .when("v" > "best", take)]))
            body.append(.store("y", at, "best"))
            if argmax != nil { body.append(.store("arg", at, "at")) }
            what = "the maximum of each window" + (argmax != nil ? "; arg = its offset within the sample" : "")
        case .avg:
            body = [
                .variable("sum", .float, .float(0)),
                taps(w, i, oy: oy, ox: ox, [.addAssign("sum", x)]),
                .store("y", at, "sum" * (.float(1) / .toFloat(windowCells(w, i, oy: oy, ox: ox)))),
            ]
            what = "the mean of each window's cells inside the input (padded cells not counted)"
        }
        var grid = Grid.perSample(("oy", o.h), ("ox", o.w), ("ch", o.c))
        if o.c > 1, target.vectorWidth > 1 {  // vectors of channels, or all of them at once
            grid.items[grid.items.count - 1].lanes = o.c % target.vectorWidth == 0 ? target.vectorWidth : o.c
        }
        return LoweredKernel(name: k.name, kernel: ki, group: k.group,
                             summary: ["\(k.name): \(PlanPrinter.describe(g)), y = \(what)"],
                             arrays: arrays, grid: grid, body: body).withAccessFromBody()
    }

    /// dx from dy: each window's gradient goes to its maximum (through `arg`) or, divided by its cell count, to
    /// each of its cells. `.scatter`: one sample per item, dx zeroed and then added to; `.gather`: one input
    /// element per item, summing the terms of the windows that contain it.
    static func poolBackward(_ plan: KernelPlan, _ ki: Int, _ g: FusedGroup, _ kind: PoolKind, _ w: Window,
                             _ target: LoweringTarget) -> LoweredKernel {
        let k = plan.kernels[ki], ops = k.operands, i = g.input, o = g.output
        let dy: (Expr) -> Expr = { .load("dy", .wide("n") * .int(stride(plan, ops.outputGradient!, target)) + $0) }
        let arg: (Expr) -> Expr = { .load("arg", .wide("n") * .int(o.count) + $0) }
        let dx: (Expr) -> Expr = { .wide("n") * .int(stride(plan, ops.inputGradient!, target)) + $0 }
        var arrays = [buffer(plan, ops.outputGradient!, as: "dy", .read)]
        if kind == .max { arrays.append(buffer(plan, ops.argmax!, as: "arg", .read)) }
        arrays.append(buffer(plan, ops.inputGradient!, as: "dx", .write))
        let what = kind == .max ? "dx[cell] = sum of dy over the windows whose maximum the cell is"
                                : "dx[cell] = sum over the windows containing the cell of dy / (cells of the window)"
        let body: [Stmt], grid: Grid
        switch target.inputGradient {
        case .scatter:
            grid = .perSample()
            let zero: Stmt = .loop("j", from: 0, to: .int(i.count), [.store("dx", dx("j"), .float(0))])
            switch kind {
            case .max:
                body = [zero, .loop("j", from: 0, to: .int(o.count), [.accumulate("dx", dx(arg("j")), dy("j"))])]
            case .avg:
                let add: Stmt = .loop("ch", from: 0, to: .int(i.c), [
                    .accumulate("dx", dx(cellOffset("iy", "ix", "ch", i)), dy(cellOffset("oy", "ox", "ch", o)) * "inv"),
                ])
                body = [zero, .loop("oy", from: 0, to: .int(o.h), [.loop("ox", from: 0, to: .int(o.w), [
                    .constant("inv", .float, .float(1) / .toFloat(windowCells(w, i, oy: "oy", ox: "ox"))),
                    taps(w, i, oy: "oy", ox: "ox", [add]),
                ])])]
            }
        case .gather:
            grid = .perSample(("iy", i.h), ("ix", i.w), ("ch", i.c))
            let iy = coordinate("iy", i.h), ix = coordinate("ix", i.w), ch = coordinate("ch", i.c)
            let out = cellOffset("oy", "ox", ch, o)
            let term: Stmt = kind == .max
                ? .when(.equal(arg(out), "me"), [.addAssign("acc", dy(out))])
                : .addAssign("acc", dy(out) * (.float(1) / .toFloat(windowCells(w, i, oy: "oy", ox: "ox"))))
            body = (kind == .max ? [.constant("me", .int, cellOffset(iy, ix, ch, i))] : [])
                + [.variable("acc", .float, .float(0)), outputsReading(w, o, iy: iy, ix: ix, [term]),
                   .store("dx", dx(cellOffset(iy, ix, ch, i)), "acc")]
        }
        return LoweredKernel(name: k.name, kernel: ki, group: k.group, summary: ["\(k.name): \(what)"],
                             arrays: arrays, grid: grid, body: body).withAccessFromBody()
    }

    // MARK: windows

    /// A grid coordinate by name, or 0 where its extent is 1 (the grid leaves it out).
    static func coordinate(_ name: String, _ extent: Int) -> Expr { extent > 1 ? .name(name) : 0 }

    /// Offset of (y, x, c) within one sample of shape s.
    static func cellOffset(_ y: Expr, _ x: Expr, _ c: Expr, _ s: Shape) -> Expr {
        (y * .int(s.w) + x) * .int(s.c) + c
    }

    /// Loops over the taps (ky, kx) of the window of output (oy, ox) that land inside the input, with the input
    /// row and column in iy, ix. Padding is skipped, never copied; a side without padding needs no check, since
    /// the output size is floor((in + padding - k) / s) + 1.
    static func taps(_ w: Window, _ i: Shape, oy: Expr, ox: Expr, _ body: [Stmt]) -> Stmt {
        func axis(_ k: String, _ at: String, _ o: Expr, kernel: Int, stride: Int, before: Int, after: Int, size: Int,
                  _ inner: [Stmt]) -> Stmt {
            var stmts: [Stmt] = [.constant(at, .int, o * .int(stride) + .int(-before) + .name(k))]
            // Only a side with padding can put a tap outside.
            let outside = [before > 0 ? .name(at) < 0 : nil, after > 0 ? .name(at) >= .int(size) : nil].compactMap { $0 }
            if let first = outside.first { stmts.append(.when(outside.dropFirst().reduce(first, Expr.or), [.next])) }
            return .loop(k, from: 0, to: .int(kernel), stmts + inner)
        }
        let p = w.padding
        return axis("ky", "iy", oy, kernel: w.kernel.y, stride: w.stride.y, before: p.top, after: p.bottom, size: i.h,
                    [axis("kx", "ix", ox, kernel: w.kernel.x, stride: w.stride.x, before: p.left, after: p.right,
                          size: i.w, body)])
    }

    /// The transposed loops: for input (iy, ix), the taps (ky, kx) and the outputs (oy, ox) whose window reads it.
    static func outputsReading(_ w: Window, _ o: Shape, iy: Expr, ix: Expr, _ body: [Stmt]) -> Stmt {
        func axis(_ k: String, _ out: String, _ i: Expr, kernel: Int, stride: Int, before: Int, size: Int,
                  _ inner: [Stmt]) -> Stmt {
            let shifted = i + .int(before) - .name(k), at = Expr.name(out)
            let find: [Stmt]
            if stride == 1 {
                find = [.constant(out, .int, shifted), .when(.or(at < 0, at >= .int(size)), [.next])]
            } else {
                let scaled = Expr.name(out + "s")
                find = [.constant(out + "s", .int, shifted),
                        .when(.or(scaled < 0, .notEqual(scaled % .int(stride), 0)), [.next]),
                        .constant(out, .int, scaled / .int(stride)), .when(at >= .int(size), [.next])]
            }
            return .loop(k, from: 0, to: .int(kernel), find + inner)
        }
        return axis("ky", "oy", iy, kernel: w.kernel.y, stride: w.stride.y, before: w.padding.top, size: o.h,
                    [axis("kx", "ox", ix, kernel: w.kernel.x, stride: w.stride.x, before: w.padding.left, size: o.w,
                          body)])
    }

    /// The cells of output (oy, ox)'s window that lie inside the input: the kernel's size on an axis without
    /// padding, the window clipped to the input on the others.
    static func windowCells(_ w: Window, _ i: Shape, oy: Expr, ox: Expr) -> Expr {
        func axis(_ o: Expr, kernel: Int, stride: Int, before: Int, after: Int, size: Int) -> Expr {
            guard before > 0 || after > 0 else { return .int(kernel) }
            let start = o * .int(stride) + .int(-before)
            let end = start + .int(kernel)
            return (after > 0 ? .select(end < .int(size), end, .int(size)) : end)
                - (before > 0 ? .select(start > 0, start, 0) : start)
        }
        let p = w.padding
        let rows = axis(oy, kernel: w.kernel.y, stride: w.stride.y, before: p.top, after: p.bottom, size: i.h)
        let columns = axis(ox, kernel: w.kernel.x, stride: w.stride.x, before: p.left, after: p.right, size: i.w)
        if case let .int(a) = rows, case let .int(b) = columns { return .int(a * b) }
        return rows * columns
    }
}
