// Estimator hyperparameters as they arrive from a config's `estimator` section, with typed, validated
// access, and the model sizes some estimators need. Every read states its key, default and rule once;
// the registry records the reads to list the options and to reject keys an estimator does not know.
import Foundation
import VAE

public enum OptionValue: Codable, Sendable, Equatable, CustomStringConvertible {
    case number(Double)
    case string(String)
    case bool(Bool)

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let b = try? c.decode(Bool.self) { self = .bool(b); return }
        if let d = try? c.decode(Double.self) { self = .number(d); return }
        self = .string(try c.decode(String.self))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case let .number(d): try c.encode(d)
        case let .string(s): try c.encode(s)
        case let .bool(b): try c.encode(b)
        }
    }

    public var description: String {
        switch self {
        case let .number(d): return d == d.rounded() && Swift.abs(d) < 1e15 ? String(Int(d)) : String(d)
        case let .string(s): return "\"\(s)\""
        case let .bool(b): return String(b)
        }
    }
}

/// One option as an estimator's `make` reads it: the key, its default and the rule a value must meet.
/// `vae-train estimators` lists these; they are recorded from `make` itself (see
/// `EstimatorRegistry.all`), so the listing cannot drift from what an estimator builds. A model size
/// that `make` reads (`ModelSizes`) is recorded the same way, as a key a config may restate.
public struct OptionSpec: Equatable, Sendable {
    public let key: String
    public let defaultValue: OptionValue
    public let requirement: String
    /// The model size this key stands for, when it is one (`input_size`, `code_width`); nil for options.
    public let modelSize: ModelSize?
}

/// Collects the `OptionSpec`s of the option (and model-size) reads made while it is installed (only
/// while the registry collects its table; ordinary construction reads a nil task-local and records nothing).
final class OptionSpecRecorder: @unchecked Sendable {
    private(set) var specs: [OptionSpec] = []
    func record(_ key: String, _ value: OptionValue, _ requirement: String, modelSize: ModelSize? = nil) {
        guard !specs.contains(where: { $0.key == key }) else { return }
        specs.append(OptionSpec(key: key, defaultValue: value, requirement: requirement, modelSize: modelSize))
    }
    @TaskLocal static var current: OptionSpecRecorder?
}

// MARK: - Model sizes

/// A size the model determines and some estimators' own networks need, under the key a config may
/// restate it with.
public enum ModelSize: String, CaseIterable, Sendable {
    /// D, the width of the model's input x (NVIL's baseline reads x).
    case inputSize = "input_size"
    /// The width of a flattened code: N, or L·C (RELAX's r_ρ reads the relaxed code).
    case codeWidth = "code_width"

    /// How a config error names it.
    public var meaning: String { self == .inputSize ? "input size" : "code width (N, or L·C)" }
    /// The rule `vae-train estimators` lists for it.
    public static let requirement = "filled in from the model's sizes"
}

/// The model's sizes, passed to `make` as an argument: a config need not state them. Reading one is
/// recorded like an option read, so the registry knows which estimators take which size (and lists
/// it) without a second statement.
public struct ModelSizes: Sendable, Equatable {
    private let input: Int, code: Int

    public init(inputSize: Int, codeWidth: Int) {
        (input, code) = (inputSize, codeWidth)
    }

    /// The sizes of a VAE of this shape.
    public init(_ shape: ModelShape) {
        self.init(inputSize: shape.inputSize, codeWidth: shape.latent.codeWidth)
    }

    /// The binary-MNIST benchmark's sizes (784 pixels, 200 Bernoulli units): what `make` uses when a caller
    /// has no model (unit tests, toy problems), and what `vae-train estimators` lists as the sizes' defaults.
    public static let `default` = ModelSizes(inputSize: 784, codeWidth: 200)

    public subscript(size: ModelSize) -> Int {
        let value = size == .inputSize ? input : code
        OptionSpecRecorder.current?.record(size.rawValue, .number(Double(value)), ModelSize.requirement, modelSize: size)
        return value
    }

    /// D, the width of the model's input x.
    public var inputSize: Int { self[.inputSize] }
    /// N, or L·C.
    public var codeWidth: Int { self[.codeWidth] }
}

public struct EstimatorOptions: Sendable, Equatable {
    public let estimator: String
    public var values: [String: OptionValue]

    public init(estimator: String, values: [String: OptionValue] = [:]) {
        self.estimator = estimator
        self.values = values
    }

    /// A number option with a default and a validity rule stated in words for the error message.
    public func number(_ key: String, default fallback: Double, requirement: String = "",
                       isValid: (Double) -> Bool = { $0.isFinite }) throws -> Double {
        OptionSpecRecorder.current?.record(key, .number(fallback), requirement.isEmpty ? "any finite number" : requirement)
        guard let raw = values[key] else { return fallback }
        guard case let .number(value) = raw, value.isFinite, isValid(value) else {
            throw EstimatorError.invalidOption(estimator: estimator, key: key, value: raw.description,
                                               requirement: requirement.isEmpty ? "must be a finite number" : requirement)
        }
        return value
    }

    /// A positive-integer option (sample counts and the like).
    public func integer(_ key: String, default fallback: Int, minimum: Int = 1) throws -> Int {
        let value = try number(key, default: Double(fallback), requirement: "must be an integer >= \(minimum)") {
            $0 == $0.rounded() && $0 >= Double(minimum)
        }
        return Int(value)
    }

    /// A string option restricted to `allowed`.
    public func choice(_ key: String, default fallback: String, allowed: [String]) throws -> String {
        OptionSpecRecorder.current?.record(key, .string(fallback), "allowed values: \(allowed.joined(separator: ", "))")
        guard let raw = values[key] else { return fallback }
        guard case let .string(value) = raw, allowed.contains(value) else {
            throw EstimatorError.invalidOption(estimator: estimator, key: key, value: raw.description,
                                               requirement: "allowed values: \(allowed.joined(separator: ", "))")
        }
        return value
    }

    /// States an option that `make` reads by hand (not through the accessors above), for the listing.
    public func declare(_ key: String, default fallback: OptionValue, requirement: String) {
        OptionSpecRecorder.current?.record(key, fallback, requirement)
    }

    /// The learning-rate multiplier of an estimator's own parameters (NVIL, REBAR, RELAX): > 0.
    public func learningRateScale(default fallback: Double = 10) throws -> Double {
        try number("learning_rate_scale", default: fallback, requirement: "must be > 0") { $0 > 0 }
    }

    /// The seed of an estimator's own network initialisation.
    public func seed() throws -> UInt64 {
        UInt64(try integer("seed", default: 0, minimum: 0))
    }

    /// A temperature: must be > 0 (τ = 0 gives all-NaN relaxations, PyTorch issue #184031).
    public func temperature(_ key: String = "temperature", default fallback: Double) throws -> Double {
        try number(key, default: fallback, requirement: "must be a number > 0") { $0 > 0 }
    }
}
