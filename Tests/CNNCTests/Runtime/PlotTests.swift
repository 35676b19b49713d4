import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
@testable import TrainerRuntime

/// The --plot file (Runtime/trainer/Plot.swift) and the per-epoch test loss and learning rate in --metrics.
@Suite("Training curves")
struct PlotTests {
    typealias F = RuntimeTestFiles

    /// What an SVG holds, read back with an XML parser: the polylines' names and point counts, the texts.
    final class SVGContents: NSObject, XMLParserDelegate {
        var root: String?
        var series: [String: Int] = [:]
        var circles = 0
        var texts: [String] = []
        private var inText = false

        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                    attributes: [String: String] = [:]) {
            if root == nil { root = name }
            if name == "polyline", let label = attributes["data-name"] {
                series[label] = (attributes["points"] ?? "").split(separator: " ").count
            }
            if name == "circle" { circles += 1 }
            if name == "text" || name == "title" { inText = true; texts.append("") }
        }
        func parser(_ parser: XMLParser, foundCharacters string: String) { if inText { texts[texts.count - 1] += string } }
        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            if name == "text" || name == "title" { inText = false }
        }
    }

    static func read(_ path: String) throws -> SVGContents {
        let parser = XMLParser(data: try Data(contentsOf: URL(fileURLWithPath: path)))
        let contents = SVGContents()
        parser.delegate = contents
        #expect(parser.parse(), "well-formed XML: \(String(describing: parser.parserError))")
        return contents
    }

    static func epoch(_ k: Int, test: Bool = true) -> EpochMetrics {
        EpochMetrics(epoch: k, loss: 1.0 / Double(k), trainAccuracy: 0.5 + 0.04 * Double(k),
                     testAccuracy: test ? 0.45 + 0.04 * Double(k) : nil, testLoss: test ? 1.1 / Double(k) : nil,
                     seconds: 1, imagesPerSecond: 100, learningRate: 0.05)
    }

    @Test("one point per epoch and series; a network name with XML characters is escaped")
    func curves() throws {
        let dir = try F.folder("plot-curves")
        let path = dir.appendingPathComponent("c.svg").path
        let svg = curvesSVG((1...7).map { Self.epoch($0) }, title: "net<&>\"'")
        try svg.write(toFile: path, atomically: true, encoding: .utf8)
        let contents = try Self.read(path)
        #expect(contents.root == "svg")
        #expect(contents.series == ["train loss": 7, "test loss": 7, "train accuracy": 7, "test accuracy": 7])
        #expect(contents.circles == 28)
        #expect(contents.texts.contains("net<&>\"'"), "the title comes back unescaped: \(contents.texts)")
        #expect(contents.texts.contains("epoch") && contents.texts.contains("accuracy"))
    }

    @Test("without a test set only the training curves; one epoch still draws")
    func partial() throws {
        let dir = try F.folder("plot-partial")
        let path = dir.appendingPathComponent("c.svg").path
        try curvesSVG([Self.epoch(1, test: false)], title: "x").write(toFile: path, atomically: true, encoding: .utf8)
        let contents = try Self.read(path)
        #expect(contents.series == ["train loss": 1, "train accuracy": 1])
    }

    @Test("ticks are round numbers that cover the range")
    func ticks() {
        #expect(niceTicks(0, 2.3) == [0, 0.5, 1, 1.5, 2, 2.5])
        func close(_ a: [Double], _ b: [Double]) -> Bool { a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) < 1e-9 } }
        #expect(close(niceTicks(0.62, 1), [0.6, 0.7, 0.8, 0.9, 1.0]), "\(niceTicks(0.62, 1))")
        #expect(niceTicks(1, 10, count: 8) == [0, 2, 4, 6, 8, 10])
        #expect(niceTicks(0, 0) == [0, 0.2], "a flat range still gets an axis")
    }

    @Test("--plot writes the curves after every epoch; --metrics has each epoch's test loss and learning rate")
    func trainerWritesThePlot() throws {
        let dir = try F.folder("plot-trainer")
        let csv = try RuntimeTrainingTests.blobsCSV(160, stream: 7, in: dir)
        let plot = dir.appendingPathComponent("curves.svg").path
        let metrics = dir.appendingPathComponent("m.json").path
        #expect(runTrainer(SoftmaxRegression.self, ["--data", csv, "--test-split", "0.25", "--epochs", "4",
                                                    "--lr", "0.2", "--plot", plot, "--metrics", metrics,
                                                    "--threads", "1"]) == 0)
        let contents = try Self.read(plot)
        #expect(contents.series == ["train loss": 4, "test loss": 4, "train accuracy": 4, "test accuracy": 4])
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: metrics)))
        let epochs = (json as? [String: Any])?["epochs"] as? [[String: Any]] ?? []
        #expect(epochs.count == 4)
        for e in epochs {
            #expect((e["test_loss"] as? Double).map { $0 > 0 && $0.isFinite } == true, "\(e)")
            #expect((e["lr"] as? Double).map { abs($0 - 0.2) < 1e-6 } == true, "\(e)")
        }
        // the plot is an output like --metrics: it may not be the data file
        #expect(runTrainer(SoftmaxRegression.self, ["--data", csv, "--plot", csv, "--threads", "1"]) == 1)
    }
}
