// A run's model, loaded from its checkpoint, and its export for Python: an uncompressed .npz (a zip
// of .npy files, numpy.load reads it) with one named float32 array per parameter.
import Autodiff
import CZlib
import Foundation
import VAE

/// The trained model of a run folder, as its checkpoint holds it.
public struct SavedRun {
    public let config: RunConfig
    public let epoch: Int
    public let step: Int
    public let model: DiscreteVAE<Float>

    /// Reads `<directory>/checkpoint.bin`: the config it was written under and the model parameters
    /// (the first tensors of a checkpoint, in `DiscreteVAE.parameters` order).
    public init(directory: String) throws {
        let path = (directory as NSString).appendingPathComponent("checkpoint.bin")
        let (header, tensors) = try Checkpoint.read(from: path)
        config = try RunConfig(json: JSON.parse(Data(header.configJSON.utf8)))
        var stream = RunStreams.modelInitStream(seed: config.training.seed)
        model = DiscreteVAE(shape: config.modelShape, rng: &stream)
        let parameters = model.parameters
        guard tensors.count >= parameters.count,
              zip(parameters, tensors).allSatisfy({ $0.value.shape == $1.shape }) else {
            throw TrainingError.checkpoint(path: path, reason: "its tensors do not match the model its config describes")
        }
        for (parameter, value) in zip(parameters, tensors) { parameter.value = value }
        epoch = header.epoch
        step = header.step
    }

    /// The parameters by name (`encoder.0.weight` [in, out], `encoder.0.bias`, …, `prior.logits`).
    public var namedParameters: [(name: String, tensor: Tensor<Float>)] {
        model.parameters.enumerated().map { ($1.name ?? "parameter.\($0)", $1.value) }
    }
}

public enum NPZ {
    /// One .npy file (format 1.0): magic, header dict, then little-endian float32 data in C order.
    public static func npy(shape: [Int], values: [Float]) -> [UInt8] {
        let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': \(shapeText), }"
        // Pad with spaces so the data starts at a multiple of 64 bytes; the header ends in a newline.
        let unpadded = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0]
        bytes += [UInt8(header.utf8.count & 0xFF), UInt8(header.utf8.count >> 8)]
        bytes += Array(header.utf8)
        for value in values { withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes += $0 } }
        return bytes
    }

    /// A zip archive of stored (uncompressed) entries with CRC-32s: what numpy.savez writes.
    public static func zip(_ entries: [(name: String, data: [UInt8])]) -> [UInt8] {
        var out: [UInt8] = [], central: [UInt8] = []
        func u16(_ v: Int, _ to: inout [UInt8]) { to += [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF)] }
        func u32(_ v: Int, _ to: inout [UInt8]) { for i in 0..<4 { to.append(UInt8((v >> (8 * i)) & 0xFF)) } }
        for entry in entries {
            let crc = entry.data.withUnsafeBufferPointer { Int(crc32(0, $0.baseAddress, uInt($0.count))) }
            let name = Array(entry.name.utf8), offset = out.count
            // Local file header: version 2.0, no flags, method 0 (stored), DOS time/date 1980-01-01.
            u32(0x0403_4B50, &out); u16(20, &out); u16(0, &out); u16(0, &out); u16(0, &out); u16(0x21, &out)
            u32(crc, &out); u32(entry.data.count, &out); u32(entry.data.count, &out); u16(name.count, &out); u16(0, &out)
            out += name
            out += entry.data
            u32(0x0201_4B50, &central); u16(20, &central); u16(20, &central); u16(0, &central); u16(0, &central)
            u16(0, &central); u16(0x21, &central); u32(crc, &central); u32(entry.data.count, &central); u32(entry.data.count, &central)
            u16(name.count, &central); u16(0, &central); u16(0, &central); u16(0, &central); u16(0, &central)
            u32(0, &central); u32(offset, &central)
            central += name
        }
        let centralOffset = out.count
        out += central
        u32(0x0605_4B50, &out); u16(0, &out); u16(0, &out); u16(entries.count, &out); u16(entries.count, &out)
        u32(central.count, &out); u32(centralOffset, &out); u16(0, &out)
        return out
    }

    /// Writes `arrays` to `path` as an .npz (`name.npy` entries; numpy.load(path)[name]).
    public static func write(_ arrays: [(name: String, tensor: Tensor<Float>)], to path: String) throws {
        let entries = arrays.map { array in
            (name: array.name + ".npy", data: npy(shape: array.tensor.shape, values: array.tensor.withUnsafeBufferPointer { Array($0) }))
        }
        try writeAtomically(Data(zip(entries)), to: path)
    }
}

public enum RunExport {
    /// Writes the run's model parameters to `output` (default `<run>/parameters.npz`); returns its path
    /// and the exported names with their shapes.
    @discardableResult
    public static func exportParameters(run directory: String, to output: String? = nil) throws -> (path: String, arrays: [(String, [Int])]) {
        let run = try SavedRun(directory: directory)
        let path = output ?? (directory as NSString).appendingPathComponent("parameters.npz")
        let arrays = run.namedParameters
        try NPZ.write(arrays, to: path)
        return (path, arrays.map { ($0.name, $0.tensor.shape) })
    }
}
