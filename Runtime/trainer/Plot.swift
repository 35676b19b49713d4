// The --plot file: training curves as one self-contained SVG (no scripts, no external fonts or styles), rewritten
// after every epoch like the metrics. Two panels side by side: loss per epoch (train and test) and accuracy per
// epoch (train and test), each with labelled axes, ticks at round numbers and a legend.

/// One line of a panel: its name in the legend, its colour and its points (epoch, value); nil values are skipped.
struct PlotSeries {
    let name: String
    let color: String
    let dashed: Bool
    let points: [(x: Double, y: Double)]
}

/// Round tick values covering [low, high]: steps of 1, 2 or 5 times a power of ten, about `count` of them.
func niceTicks(_ low: Double, _ high: Double, count: Int = 5) -> [Double] {
    guard low.isFinite, high.isFinite else { return [0, 1] }
    let span = high > low ? high - low : max(abs(high), 1)
    let rough = span / Double(max(count, 1))
    let power = pow10(floorLog10(rough))
    let step = [1.0, 2.0, 5.0, 10.0].map { $0 * power }.first { $0 >= rough } ?? 10 * power
    let first = (low / step).rounded(.down) * step
    let last = (max(high, low + step) / step).rounded(.up) * step
    var ticks: [Double] = []
    var k = 0
    while ticks.count < 50 {
        let value = first + Double(k) * step
        if value > last + step / 2 { break }
        ticks.append(value)
        k += 1
    }
    return ticks
}

private func floorLog10(_ x: Double) -> Int {
    var e = 0, v = x
    while v >= 10 { v /= 10; e += 1 }
    while v < 1 && e > -30 { v *= 10; e -= 1 }
    return e
}

private func pow10(_ e: Int) -> Double {
    var v = 1.0
    if e >= 0 { for _ in 0..<e { v *= 10 } } else { for _ in 0..<(-e) { v /= 10 } }
    return v
}

/// A tick label: as many decimals as the step between ticks needs.
private func tickLabel(_ value: Double, step: Double) -> String {
    var decimals = 0, s = step
    while s < 1 - 1e-9 && decimals < 6 { s *= 10; decimals += 1 }
    return fixed(value, decimals)
}

/// Text for an SVG text node or attribute value: the five XML special characters escaped, control characters
/// dropped. Every string from outside (the network's name) reaches the SVG through this function.
func svgEscaped(_ text: String) -> String {
    var out = ""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&apos;"
        default:
            if scalar.value < 0x20 || scalar.value == 0x7f { continue }
            out.unicodeScalars.append(scalar)
        }
    }
    return out
}

/// One panel at (x0, y0) of the given size: frame, ticks, axis labels, the series and a legend.
private func panel(_ title: String, yLabel: String, series: [PlotSeries], epochs: Int, yRange: (Double, Double),
                   x0: Double, y0: Double, width: Double, height: Double) -> [String] {
    let left = x0 + 60, right = x0 + width - 15, top = y0 + 30, bottom = y0 + height - 45
    let xTicks = niceTicks(1, Double(max(epochs, 2)), count: min(max(epochs - 1, 1), 8)).filter { $0 >= 1 }
    let xMax = max(xTicks.last ?? 1, Double(epochs), 2)
    let yTicks = niceTicks(yRange.0, yRange.1)
    let yMin = yTicks.first ?? 0, yMax = max(yTicks.last ?? 1, yMin + 1e-9)
    func px(_ x: Double) -> Double { left + (x - 1) / (xMax - 1) * (right - left) }
    func py(_ y: Double) -> Double { bottom - (y - yMin) / (yMax - yMin) * (bottom - top) }
    func n(_ v: Double) -> String { fixed(v, 1) }

    var svg = ["<g>",
               "<text x=\"\(n((left + right) / 2))\" y=\"\(n(y0 + 18))\" text-anchor=\"middle\" "
                   + "font-weight=\"bold\">\(svgEscaped(title))</text>",
               "<rect x=\"\(n(left))\" y=\"\(n(top))\" width=\"\(n(right - left))\" height=\"\(n(bottom - top))\" "
                   + "fill=\"none\" stroke=\"#444\"/>"]
    let yStep = yTicks.count > 1 ? yTicks[1] - yTicks[0] : 1
    for t in yTicks {
        svg.append("<line x1=\"\(n(left))\" y1=\"\(n(py(t)))\" x2=\"\(n(right))\" y2=\"\(n(py(t)))\" "
                   + "stroke=\"#ddd\"/>")
        svg.append("<text x=\"\(n(left - 6))\" y=\"\(n(py(t) + 4))\" text-anchor=\"end\">"
                   + "\(tickLabel(t, step: yStep))</text>")
    }
    for t in xTicks where t <= xMax {
        svg.append("<line x1=\"\(n(px(t)))\" y1=\"\(n(bottom))\" x2=\"\(n(px(t)))\" y2=\"\(n(bottom + 5))\" "
                   + "stroke=\"#444\"/>")
        svg.append("<text x=\"\(n(px(t)))\" y=\"\(n(bottom + 18))\" text-anchor=\"middle\">"
                   + "\(tickLabel(t, step: 1))</text>")
    }
    svg.append("<text x=\"\(n((left + right) / 2))\" y=\"\(n(bottom + 36))\" text-anchor=\"middle\">epoch</text>")
    svg.append("<text x=\"\(n(x0 + 16))\" y=\"\(n((top + bottom) / 2))\" text-anchor=\"middle\" "
               + "transform=\"rotate(-90 \(n(x0 + 16)) \(n((top + bottom) / 2)))\">\(svgEscaped(yLabel))</text>")
    for (i, s) in series.enumerated() where !s.points.isEmpty {
        let dash = s.dashed ? " stroke-dasharray=\"6 4\"" : ""
        let points = s.points.map { "\(n(px($0.x))),\(n(py($0.y)))" }.joined(separator: " ")
        svg.append("<polyline class=\"series\" data-name=\"\(svgEscaped(s.name))\" points=\"\(points)\" "
                   + "fill=\"none\" stroke=\"\(s.color)\" stroke-width=\"2\"\(dash)/>")
        for p in s.points {
            svg.append("<circle cx=\"\(n(px(p.x)))\" cy=\"\(n(py(p.y)))\" r=\"3\" fill=\"\(s.color)\"/>")
        }
        let ly = top + 14 + Double(i) * 16
        svg.append("<line x1=\"\(n(right - 110))\" y1=\"\(n(ly - 4))\" x2=\"\(n(right - 90))\" y2=\"\(n(ly - 4))\" "
                   + "stroke=\"\(s.color)\" stroke-width=\"2\"\(dash)/>")
        svg.append("<text x=\"\(n(right - 85))\" y=\"\(n(ly))\">\(svgEscaped(s.name))</text>")
    }
    svg.append("</g>")
    return svg
}

/// The whole SVG for the epochs so far; `title` is the network's name.
func curvesSVG(_ epochs: [EpochMetrics], title: String) -> String {
    let xs = epochs.map { Double($0.epoch) }
    func series(_ name: String, _ color: String, dashed: Bool, _ value: (EpochMetrics) -> Double?) -> PlotSeries {
        let points = zip(xs, epochs).compactMap { x, e in value(e).flatMap { $0.isFinite ? (x: x, y: $0) : nil } }
        return PlotSeries(name: name, color: color, dashed: dashed, points: points)
    }
    let loss = [series("train loss", "#1f77b4", dashed: false) { $0.loss },
                series("test loss", "#d62728", dashed: true) { $0.testLoss }]
    let accuracy = [series("train accuracy", "#1f77b4", dashed: false) { $0.trainAccuracy },
                    series("test accuracy", "#d62728", dashed: true) { $0.testAccuracy }]
    let lossValues = loss.flatMap { $0.points.map(\.y) }
    let accuracyValues = accuracy.flatMap { $0.points.map(\.y) }
    let lossRange = (0.0, max(lossValues.max() ?? 1, 1e-6))
    let accuracyRange = (min(accuracyValues.min() ?? 0, 1), 1.0)
    let epochCount = epochs.map(\.epoch).max() ?? 1
    let width = 900.0, height = 380.0
    var svg = ["<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
               "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height + 30))\" "
                   + "viewBox=\"0 0 \(Int(width)) \(Int(height + 30))\" font-family=\"sans-serif\" font-size=\"12\">",
               "<title>\(svgEscaped(title)): training curves</title>",
               "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>",
               "<text x=\"\(Int(width / 2))\" y=\"20\" text-anchor=\"middle\" font-size=\"15\">"
                   + "\(svgEscaped(title))</text>"]
    svg += panel("loss", yLabel: "cross-entropy loss", series: loss, epochs: epochCount, yRange: lossRange,
                 x0: 0, y0: 30, width: width / 2, height: height)
    svg += panel("accuracy", yLabel: "accuracy", series: accuracy, epochs: epochCount, yRange: accuracyRange,
                 x0: width / 2, y0: 30, width: width / 2, height: height)
    svg.append("</svg>")
    return svg.joined(separator: "\n") + "\n"
}
