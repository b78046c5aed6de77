// A config whose model, batch or sample counts cannot fit in this machine's memory is a config error
// before anything is allocated (a 10^7-wide hidden layer would otherwise abort in the allocator or be
// killed by the OOM killer halfway into initialising weights). The estimate is deliberately simple:
// float32 everywhere, and each term an upper-ish bound of what the trainer holds at once.
import Estimators
import Foundation
import VAE

public struct MemoryEstimate: Sendable, Equatable {
    /// One term of the estimate: what it is, its bytes, and the config keys that set its size.
    public struct Part: Sendable, Equatable {
        public let what: String
        public let bytes: Double
        public let keys: [String]
    }

    public let parts: [Part]
    public var totalBytes: Double { parts.reduce(0) { $0 + $1.bytes } }

    /// Bytes of one float32.
    static let float = 4.0

    public init(config: RunConfig) {
        let shape = config.modelShape
        let code = Double(shape.latent.codeWidth)
        let input = Double(shape.inputSize)
        // The width keys, widest first; a key far narrower than the widest is not worth naming.
        let widths = [("model.encoder_hidden", Double(shape.encoderHidden.max() ?? 0)),
                      ("model.decoder_hidden", Double(shape.decoderHidden.max() ?? 0)), ("latent.shape", code)]
        let widest = widths.map(\.1).max() ?? 0
        let sizeKeys = widths.filter { $0.1 >= 0.1 * widest }.sorted { $0.1 > $1.1 }.map(\.0)

        // Parameters of one MLP: Σ (in·out + out).
        func mlp(_ widths: [Double]) -> Double {
            zip(widths, widths.dropFirst()).reduce(0) { $0 + $1.0 * $1.1 + $1.1 }
        }
        let encoder = [input] + shape.encoderHidden.map(Double.init) + [code]
        let decoder = [code] + shape.decoderHidden.map(Double.init) + [input]
        var parameters = mlp(encoder) + mlp(decoder) + (shape.learnedPrior ? code : 0)
        // Estimators with networks of their own (NVIL's baseline, RELAX's control variate).
        let options = config.estimator.values
        func number(_ key: String) -> Double? {
            if case let .number(value)? = options[key] { return value }
            guard let entry = try? EstimatorRegistry.entry(named: config.estimator.estimator),
                  case let .number(value)? = entry.optionSpecs.first(where: { $0.key == key })?.defaultValue
            else { return nil }
            return value
        }
        if let hidden = number("hidden") {
            let layers = max(1, number("layers") ?? 1)
            parameters += mlp([input + code] + Array(repeating: hidden, count: Int(layers)) + [1])
        }
        // Parameters, their gradients, and the optimizer's moments (Adam/RAdam keep two, SGD none).
        let moments: Double = config.training.optimizer == .sgd ? 0 : 2
        var parts = [Part(what: "parameters, gradients and optimizer state", bytes: parameters * (2 + moments) * Self.float,
                          keys: sizeKeys + ["estimator.hidden"].filter { _ in number("hidden") != nil })]

        // Activations of a training step: each layer's pre- and post-activation, forward and backward (×4),
        // the encoder once per example and the decoder once per sample.
        let batch = Double(config.training.batchSize)
        let samples = max(1, number("samples") ?? 1)
        let encoderWidths = encoder.reduce(0, +)
        let decoderWidths = decoder.reduce(0, +)
        let activations = 4 * batch * (encoderWidths + samples * decoderWidths) * Self.float
        parts.append(Part(what: "activations of a training step", bytes: activations,
                          keys: ["training.batch_size"] + (number("samples") != nil ? ["estimator.samples"] : []) + sizeKeys))

        // Evaluation: batches of 500 (decoder activations, and K log-weights per example for IWAE).
        let iwae = Double(config.evaluation.iwaeSamples)
        parts.append(Part(what: "evaluation", bytes: 4 * 500 * (encoderWidths + decoderWidths) * Self.float + 500 * iwae * 8,
                          keys: (iwae > 0 ? ["evaluation.iwae_samples"] : []) + sizeKeys))

        // The data set, as float32 images (nominal split sizes; the limits cap them).
        let (train, evaluation): (Double, Double) = config.data.dataset == .binarizedMNIST ? (50_000, 10_000) : (60_000, 10_000)
        let examples = min(train, Double(config.data.trainLimit ?? .max)) + min(evaluation, Double(config.data.testLimit ?? .max))
        parts.append(Part(what: "data", bytes: examples * input * Self.float, keys: ["data.train_limit", "data.test_limit"]))
        self.parts = parts
    }

    /// Physical memory: MemTotal from /proc/meminfo, else sysconf pages × page size; nil if neither is known.
    public static func physicalMemory() -> Double? {
        if let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8),
           let line = text.split(separator: "\n").first(where: { $0.hasPrefix("MemTotal:") }),
           let kB = Double(line.split(separator: " ").dropFirst().first ?? "") {
            return kB * 1024
        }
        let pages = sysconf(Int32(_SC_PHYS_PAGES)), size = sysconf(Int32(_SC_PAGESIZE))
        return pages > 0 && size > 0 ? Double(pages) * Double(size) : nil
    }

    /// Throws a config error naming the keys of the largest terms when the estimate exceeds `physical` bytes.
    public func check(physical: Double? = MemoryEstimate.physicalMemory()) throws {
        guard let physical, totalBytes > physical else { return }
        let largest = parts.sorted { $0.bytes > $1.bytes }
        // The terms that, with the largest, make up the excess: those worth changing.
        let culprits = largest.filter { $0.bytes >= 0.1 * largest[0].bytes }
        var keys: [String] = []
        for key in culprits.flatMap(\.keys) where !keys.contains(key) { keys.append(key) }
        let breakdown = largest.map { "\($0.what) \(Self.format($0.bytes))" }.joined(separator: ", ")
        throw ConfigError.tooLargeForMemory(keys: keys,
            detail: "a run needs about \(Self.format(totalBytes)) (\(breakdown)) but this machine has \(Self.format(physical)) of physical memory")
    }

    static func format(_ bytes: Double) -> String {
        let units = ["B", "KB", "MB", "GB", "TB", "PB", "EB"]
        var value = bytes, unit = 0
        while value >= 1000, unit < units.count - 1 { value /= 1000; unit += 1 }
        let digits = value < 10 ? (value * 10).rounded() / 10 : value.rounded()
        let text = digits == digits.rounded() ? String(Int(digits)) : String(digits)
        return "\(text) \(units[unit])"
    }
}
