// Estimator hyperparameters as they arrive from a config's `estimator` section, with typed, validated
// access. Every read records its key, so the registry can reject keys an estimator does not know.
import Foundation

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
/// `EstimatorRegistry.optionSpecs`), so the listing cannot drift from what an estimator builds.
public struct OptionSpec: Equatable, Sendable {
    public let key: String
    public let defaultValue: OptionValue
    public let requirement: String
}

/// Collects the `OptionSpec`s of the option reads made while it is installed (only while listing
/// options; ordinary construction reads a nil task-local and records nothing).
final class OptionSpecRecorder: @unchecked Sendable {
    private(set) var specs: [OptionSpec] = []
    func record(_ key: String, _ value: OptionValue, _ requirement: String) {
        guard !specs.contains(where: { $0.key == key }) else { return }
        specs.append(OptionSpec(key: key, defaultValue: value, requirement: requirement))
    }
    @TaskLocal static var current: OptionSpecRecorder?
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

    /// A temperature: must be > 0 (τ = 0 gives all-NaN relaxations, PyTorch issue #184031).
    public func temperature(_ key: String = "temperature", default fallback: Double) throws -> Double {
        try number(key, default: fallback, requirement: "must be a number > 0") { $0 > 0 }
    }
}
