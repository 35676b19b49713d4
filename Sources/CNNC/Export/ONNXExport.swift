import Foundation

/// `cnnc export --format onnx`: a compiled network plus a trainer's checkpoint in, one .onnx file out.
public enum ONNXExport {
    /// Reads the checkpoint at `weightsPath`, lowers the network with it and writes the model to `outputPath`.
    /// Returns the model, for the caller's summary.
    @discardableResult
    public static func export(_ c: Compilation, weightsPath: String, to outputPath: String) throws -> ONNXModel {
        let weights = try CheckpointReader.read(weightsPath, for: c.network)
        let model = try ONNXLowering.model(c.network, weights: weights)
        try ExclusiveFile.write(model.serialized(), to: outputPath, replacing: { $0.starts(with: ONNXModel.signature) },
                                what: "an ONNX model written by cnnc")
        return model
    }
}
