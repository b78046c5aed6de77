// Checkpoints: everything needed to continue a run exactly — parameters, optimizer moments, the
// estimator's own parameters and state, every random stream, and the metrics so far. One binary file
// (JSON header + raw little-endian tensors), written atomically after each epoch.
import Autodiff
import Foundation

public struct CheckpointHeader: Codable, Equatable {
    public var format = 1
    public var configJSON: String
    public var epoch: Int
    public var step: Int
    public var streams: [String: RandomStream]
    public var estimatorState: [Double]
    public var optimizerStep: Int
    public var estimatorOptimizerStep: Int
    public var metrics: [EpochMetrics]
    /// Shapes of the tensors that follow the header, in order.
    public var tensorShapes: [[Int]]
}

public enum Checkpoint {
    static let magic: [UInt8] = Array("DGCKPT01".utf8)

    public static func write(header: CheckpointHeader, tensors: [Tensor<Float>], to path: String) throws {
        precondition(header.tensorShapes == tensors.map(\.shape), "checkpoint header shapes disagree with tensors")
        var data = Data(magic)
        let headerData = try JSONEncoder().encode(header)
        var length = UInt64(headerData.count).littleEndian
        withUnsafeBytes(of: &length) { data.append(contentsOf: $0) }
        data.append(headerData)
        for tensor in tensors {
            tensor.withUnsafeBufferPointer { data.append(UnsafeBufferPointer(start: UnsafeRawPointer($0.baseAddress!)
                .assumingMemoryBound(to: UInt8.self), count: $0.count * 4)) }
        }
        try writeAtomically(data, to: path)
    }

    public static func read(from path: String) throws -> (header: CheckpointHeader, tensors: [Tensor<Float>]) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TrainingError.checkpoint(path: path, reason: "no such file")
        }
        let bytes = [UInt8](data)
        guard bytes.count >= 16, Array(bytes[0..<8]) == magic else {
            throw TrainingError.checkpoint(path: path, reason: "not a DiscreteGrad checkpoint (bad magic)")
        }
        var length: UInt64 = 0
        for i in 0..<8 { length |= UInt64(bytes[8 + i]) << (8 * UInt64(i)) }
        guard 16 + Int(length) <= bytes.count else {
            throw TrainingError.checkpoint(path: path, reason: "truncated header")
        }
        let header: CheckpointHeader
        do { header = try JSONDecoder().decode(CheckpointHeader.self, from: Data(bytes[16..<(16 + Int(length))])) } catch {
            throw TrainingError.checkpoint(path: path, reason: "corrupt header (\(error))")
        }
        var offset = 16 + Int(length)
        let expected = header.tensorShapes.reduce(0) { $0 + $1.reduce(1, *) * 4 }
        guard bytes.count - offset == expected else {
            throw TrainingError.checkpoint(path: path, reason: "expected \(expected) bytes of tensors, found \(bytes.count - offset)")
        }
        var tensors: [Tensor<Float>] = []
        for shape in header.tensorShapes {
            let count = shape.reduce(1, *)
            let tensor = Tensor<Float>(shape: shape) { out in
                bytes.withUnsafeBytes { raw in
                    UnsafeMutableRawBufferPointer(out).copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[offset..<(offset + count * 4)]))
                }
            }
            offset += count * 4
            tensors.append(tensor)
        }
        return (header, tensors)
    }
}
